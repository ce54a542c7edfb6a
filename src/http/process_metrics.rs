//! The figures `/metrics` reads at scrape time rather than counts as it
//! goes: the build, the process (from `/proc/self`), the database pool,
//! and who may read them (`[metrics]`).

use std::fmt::Write;
use std::path::PathBuf;

use serde::Deserialize;

use crate::directory::PoolFigures;

/// `[metrics]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A bearer token `/metrics` requires (or `token_file`, or the
    /// environment's `ROLLCALL_METRICS_TOKEN` / `ROLLCALL_METRICS_TOKEN_FILE`).
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    /// Serve `/metrics` on this address only (for example a port a
    /// firewall keeps internal), and not on `listen`.
    pub listen: Option<String>,
}

impl MetricsConfig {
    /// The token `/metrics` requires, if any.
    pub fn resolve(&self) -> Result<Option<String>, String> {
        let token = match (&self.token, &self.token_file) {
            (Some(_), Some(_)) => {
                return Err("[metrics] takes token or token_file, not both".into());
            }
            (Some(t), None) => Some(t.clone()),
            (None, Some(f)) => Some(
                std::fs::read_to_string(f)
                    .map_err(|e| format!("[metrics] token_file {}: {e}", f.display()))?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
            (None, None) => None,
        };
        match token {
            Some(t) if t.len() < 16 => Err("[metrics] token must be at least 16 characters".into()),
            other => Ok(other),
        }
    }
}

/// `rollcall_build_info`, the process and the pool, in Prometheus text.
pub fn render(out: &mut String, pools: &[(&str, PoolFigures)]) {
    gauge(
        out,
        "rollcall_build_info",
        "The running build (the value is always 1).",
        &format!("{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION")),
    );
    type Figure = fn(&PoolFigures) -> u32;
    let figures: [(&str, &str, Figure); 4] = [
        (
            "rollcall_db_pool_connections_in_use",
            "Database connections running a statement or transaction, by pool.",
            |p| p.open.saturating_sub(p.idle),
        ),
        (
            "rollcall_db_pool_connections_idle",
            "Open database connections not in use, by pool.",
            |p| p.idle,
        ),
        (
            "rollcall_db_pool_connections_max",
            "The pool's largest size.",
            |p| p.max,
        ),
        (
            "rollcall_db_pool_waiting",
            "Tasks waiting for a database connection now, by pool.",
            |p| p.waiting,
        ),
    ];
    for (name, help, figure) in figures {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        for (pool, f) in pools {
            let _ = writeln!(out, "{name}{{pool=\"{pool}\"}} {}", figure(f));
        }
    }
    process(out);
}

fn gauge(out: &mut String, name: &str, help: &str, sample: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
    let _ = writeln!(out, "{name}{sample}");
}

/// The standard `process_*` figures, where `/proc` has them (Linux).
fn process(out: &mut String) {
    let Some(stat) = proc_stat() else {
        return;
    };
    let _ = writeln!(
        out,
        "# HELP process_cpu_seconds_total User and system CPU time spent."
    );
    let _ = writeln!(out, "# TYPE process_cpu_seconds_total counter");
    let _ = writeln!(out, "process_cpu_seconds_total {}", stat.cpu_seconds);
    gauge(
        out,
        "process_resident_memory_bytes",
        "Resident memory size.",
        &format!(" {}", stat.rss_bytes),
    );
    gauge(
        out,
        "process_virtual_memory_bytes",
        "Virtual memory size.",
        &format!(" {}", stat.vsize_bytes),
    );
    if let Some(start) = stat.start_time_seconds {
        gauge(
            out,
            "process_start_time_seconds",
            "When the process started, in seconds since the epoch.",
            &format!(" {start}"),
        );
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        gauge(
            out,
            "process_open_fds",
            "Open file descriptors.",
            &format!(" {}", fds.count()),
        );
    }
}

struct ProcStat {
    cpu_seconds: f64,
    rss_bytes: u64,
    vsize_bytes: u64,
    /// Needs `/proc/stat` (hidden under systemd's `ProcSubset=pid`).
    start_time_seconds: Option<u64>,
}

/// Clock ticks and page size as Linux defines them on every platform Rust
/// targets with `/proc` (`getconf CLK_TCK` = 100, 4 KiB pages).
const TICKS_PER_SECOND: f64 = 100.0;
const PAGE_SIZE: u64 = 4096;

fn proc_stat() -> Option<ProcStat> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces, in parentheses).
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    // stat(5): utime 14, stime 15, starttime 22, vsize 23, rss 24 (1-based,
    // counting the pid and the name): here index = field - 3.
    let (utime, stime, start, vsize, rss) = (num(11)?, num(12)?, num(19)?, num(20)?, num(21)?);
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<u64>().ok())
    });
    Some(ProcStat {
        cpu_seconds: (utime + stime) as f64 / TICKS_PER_SECOND,
        rss_bytes: rss * PAGE_SIZE,
        vsize_bytes: vsize,
        start_time_seconds: boot.map(|b| b + (start as f64 / TICKS_PER_SECOND) as u64),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_process_and_pool_figures_render() {
        let mut out = String::new();
        let pool = PoolFigures {
            open: 3,
            idle: 1,
            max: 8,
            waiting: 5,
        };
        render(&mut out, &[("write", pool)]);
        assert!(
            out.contains("rollcall_db_pool_waiting{pool=\"write\"} 5"),
            "{out}"
        );
        assert!(
            out.contains("rollcall_db_pool_connections_in_use{pool=\"write\"} 2"),
            "{out}"
        );
        assert!(out.contains("rollcall_build_info{version=\""), "{out}");
        let rss = out
            .lines()
            .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
            .unwrap();
        assert!(rss.parse::<u64>().unwrap() > 1024 * 1024, "{rss}");
    }

    #[test]
    fn a_metrics_token_is_one_source_and_long_enough() {
        let both = MetricsConfig {
            token: Some("x".repeat(20)),
            token_file: Some("/f".into()),
            listen: None,
        };
        assert!(both.resolve().is_err());
        let short = MetricsConfig {
            token: Some("short".into()),
            ..Default::default()
        };
        assert!(short.resolve().is_err());
        assert_eq!(MetricsConfig::default().resolve().unwrap(), None);
    }
}
