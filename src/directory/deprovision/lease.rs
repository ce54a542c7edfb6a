//! Who runs a job: a runner holds a lease between batches; another may
//! take the job over when the lease ran out or its process is gone.
//!
//! A runner id is `<uuid>@<host>#<pid namespace>:<pid>`: the uuid is drawn
//! once per process, so two processes never share an id — not even two
//! containers that are both pid 1 on hosts of the same name. The rest only
//! serves to tell, on the same host and in the same pid namespace, that the
//! runner's process is gone.

use std::sync::OnceLock;

/// This process, as a job runner (the same id for its whole life).
pub fn runner_id() -> String {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        format!(
            "{}@{}:{}",
            uuid::Uuid::new_v4(),
            place(),
            std::process::id()
        )
    })
    .clone()
}

/// This host and pid namespace: `host#inode` (`host#?` when unknown).
fn place() -> String {
    let ns = std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .and_then(|p| {
            let s = p.to_string_lossy().into_owned();
            s.strip_prefix("pid:[")
                .and_then(|r| r.strip_suffix(']'))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "?".into());
    format!("{}#{ns}", host_name())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Whether a runner may still be at work. One of another host or pid
/// namespace (or of a form not understood) is presumed alive: its lease
/// decides. One of this very place is alive while its process exists.
pub fn runner_alive(runner: &str) -> bool {
    let here = place();
    if here.ends_with("#?") {
        return true;
    }
    let Some((_, at)) = runner.split_once('@') else {
        return true;
    };
    match at.rsplit_once(':') {
        Some((p, pid)) if p == here && pid.bytes().all(|b| b.is_ascii_digit()) => {
            std::path::Path::new("/proc").join(pid).exists()
        }
        _ => true,
    }
}

/// Who may take a job over: nobody holds it, its lease ran out, its runner
/// is this very process, or (same place) a process that no longer exists.
pub fn may_take_over(
    runner: Option<&str>,
    lease_until: Option<&str>,
    me: &str,
    now: &str,
    alive: &dyn Fn(&str) -> bool,
) -> bool {
    match (runner, lease_until) {
        (None, _) | (_, None) => true,
        (Some(r), Some(until)) => r == me || until <= now || !alive(r),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{may_take_over, runner_alive, runner_id};

    #[test]
    fn a_lease_is_taken_over_only_when_free_expired_own_or_dead() {
        let alive = |r: &str| r != "h:2";
        let now = "2026-01-01T00:00:10Z";
        let later = "2026-01-01T00:01:00Z";
        assert!(may_take_over(None, None, "h:1", now, &alive));
        assert!(may_take_over(Some("h:1"), Some(later), "h:1", now, &alive));
        assert!(may_take_over(Some("h:2"), Some(later), "h:1", now, &alive));
        let expired = "2026-01-01T00:00:05Z";
        assert!(may_take_over(
            Some("h:3"),
            Some(expired),
            "h:1",
            now,
            &alive
        ));
        assert!(!may_take_over(Some("h:3"), Some(later), "h:1", now, &alive));
    }

    #[test]
    fn runner_ids_are_unique_per_process_and_tell_a_dead_process() {
        let me = runner_id();
        assert_eq!(me, runner_id(), "one id for the process's life");
        let (uuid, at) = me.split_once('@').unwrap();
        assert_eq!(uuid.len(), 36, "{me}");
        assert!(at.ends_with(&format!(":{}", std::process::id())), "{me}");
        if at.contains("#?") {
            return; // no /proc here: every runner is presumed alive
        }
        assert!(runner_alive(&me));
        // The same place, a pid no process has: gone.
        let (place, _) = at.rsplit_once(':').unwrap();
        let gone = format!("{uuid}@{place}:{}", u32::MAX);
        assert!(!runner_alive(&gone));
        // Another host, or an id of the old form, is left to its lease.
        assert!(runner_alive(&format!("{uuid}@elsewhere#1:{}", u32::MAX)));
        assert!(runner_alive("host:1"));
    }
}
