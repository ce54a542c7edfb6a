//! Purge: a deleted user's data goes for good. The records stay — audit
//! rows, events, job reports, other users' deletion records — with every
//! trace of the person taken out of them:
//!
//! - in the rows **about the user** (audit rows on or by them, their events,
//!   their report rows, their tokens), every personal value — userName and
//!   former ones, names and name parts, display and nick names, externalId,
//!   emails, phone numbers, addresses — of any length, as a whole word;
//! - in the rows **elsewhere** that name them (another user's deletion and
//!   transfer naming them as successor, the tenant-settings row naming them
//!   as fallback owner, a report row listing them among ambiguous matches):
//!   what such rows name a person by — userName, emails, displayName,
//!   externalId, the actors they acted as — as a whole word when 3 characters or
//!   longer; a shorter one only as a whole value or in quotes (a two-letter
//!   userName stands for the user there, not the word "to" in a sentence);
//!   and any text carrying the user's id is about them.
//!
//! Values compare ASCII case-insensitively, as userNames do. The user's id
//! stays: it is not personal data, and it keeps the trail (and the report
//! row, which says `[purged user]`) in one piece.

use serde_json::{json, Value};

use super::super::guards::Admin;
use super::super::{Directory, DirectoryError, DirectoryResult};
use super::delete::deleted_user;
use crate::store::{AuditEntry, Change, Event, Mentions, Needles, Tenant, Tx, UserRecord};
use scim_protocol::datetime;

/// What a purged user's values become.
pub const REDACTED: &str = "[redacted]";
/// The user a purged user's report rows name.
pub const PURGED_USER: &str = "[purged user]";

impl Directory {
    pub(in crate::directory) async fn purge_record(
        &self,
        tenant: &Tenant,
        id: &str,
        actor: &str,
        admin: Option<&Admin>,
    ) -> DirectoryResult<()> {
        let change = purge_change(self.clock.now(), actor, id);
        // Requests noted and not yet written are searched too.
        self.flush_request_log().await?;
        // Where the user is named in the long trails, searched before the
        // write so that the search holds no lock; the write reads again.
        let searched = match self.store.user_record(tenant, id).await? {
            Some(u) if u.id == id && u.deleted_at.is_some() => {
                let former = self.store.former_names(tenant, id).await?;
                let data = PersonalData::of(&u, former);
                Some(self.store.find_mentions(tenant, &data.needles()).await?)
            }
            _ => None,
        };
        let tx = self.store.write(tenant).await?;
        self.purge_user(
            tx,
            id,
            |t| match admin {
                Some(a) => self.guard(tenant, a, t, "purge"),
                None => Ok(()),
            },
            change,
            searched,
        )
        .await
    }

    /// Remove a deleted user's data for good, and their personal data from
    /// every record that keeps it (see the module's words).
    async fn purge_user(
        &self,
        mut tx: Tx,
        id: &str,
        check: impl FnOnce(&UserRecord) -> DirectoryResult<()> + Send,
        mut change: Change,
        searched: Option<Mentions>,
    ) -> DirectoryResult<()> {
        let user = deleted_user(&mut tx, id).await?;
        if user.id != id {
            return Err(DirectoryError::resource_not_found());
        }
        check(&user)?;
        purge_ready(&user)?;
        let data = PersonalData::of(&user, tx.former_names(&user.id).await?);
        let needles = data.needles();
        let found = match searched {
            Some(m) if m.for_needles(&needles) => m,
            _ => tx.find_mentions(&needles).await?,
        };
        let about = |s: &str| data.about(s);
        let elsewhere = |s: &str| data.elsewhere(s);
        tx.redact_about(&user.id, (REDACTED, PURGED_USER), &about)
            .await?;
        let named = tx.redact_mentions(&found, &elsewhere).await?;
        if named > 0 {
            change.audit.description.push_str(&format!(
                "; {named} other records that named the user redacted"
            ));
        }
        if tx.clear_fallback_owner_if(&user.id).await? {
            change
                .audit
                .description
                .push_str("; the tenant's fallback owner (this user) cleared");
        }
        tx.erase_user(user.pk, &user.id, &datetime::format(change.at))
            .await?;
        tx.record(&change).await?;
        tx.commit().await?;
        Ok(())
    }
}

fn purge_change(at: time::OffsetDateTime, actor: &str, id: &str) -> Change {
    Change {
        at,
        audit: AuditEntry {
            actor: actor.into(),
            object_type: "User".into(),
            object_id: Some(id.into()),
            object_name: Some(REDACTED.into()),
            action: "purged".into(),
            description: "user purged: data removed, personal data redacted from the audit log, events and job reports".into(),
            ..AuditEntry::default()
        },
        event: Event {
            kind: "user.purged".into(),
            object_id: Some(id.into()),
            payload: json!({"id": id}),
        },
        extra_events: Vec::new(),
    }
}

/// A deleted user can be purged once its ownership transfer completed.
pub(crate) fn purge_ready(user: &UserRecord) -> DirectoryResult<()> {
    let state = user
        .deletion
        .as_ref()
        .and_then(|d| d.get("state"))
        .and_then(Value::as_str);
    if state != Some("deleted") {
        return Err(DirectoryError::Conflict(format!(
            "user {} cannot be purged before its ownership transfer completes",
            user.id
        )));
    }
    Ok(())
}

/// A user's personal data, as the purge takes it out of records.
#[derive(Debug, Clone, PartialEq)]
struct PersonalData {
    id: String,
    /// Every personal value, longest first.
    all: Vec<String>,
    /// What records elsewhere name the user by, longest first.
    names: Vec<String>,
}

impl PersonalData {
    /// From the user's row and the names the audit trail knew them by (as
    /// the object of a row, or as its actor).
    fn of(user: &UserRecord, former: Vec<String>) -> Self {
        let d = &user.data;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let values = |attr: &str, keys: &[&str]| -> Vec<String> {
            let items = d.get(attr).and_then(Value::as_array);
            items
                .into_iter()
                .flatten()
                .flat_map(|i| keys.iter().filter_map(move |k| text(i.get(k))))
                .collect()
        };
        // The userName, and the names and actors the trail knew them by.
        let mut names = vec![user.user_name.clone()];
        names.extend(former);
        names.extend(values("emails", &["value"]));
        for key in ["displayName", "externalId"] {
            names.extend(text(d.get(key)));
        }
        names.extend(text(d.get("name").and_then(|n| n.get("formatted"))));
        let mut all = names.clone();
        all.extend(text(d.get("nickName")));
        if let Some(name) = d.get("name").and_then(Value::as_object) {
            all.extend(name.values().filter_map(Value::as_str).map(str::to_string));
        }
        all.extend(values("phoneNumbers", &["value"]));
        all.extend(values("addresses", &["formatted", "streetAddress"]));
        PersonalData {
            id: user.id.clone(),
            all: longest_first(all),
            names: longest_first(names),
        }
    }

    /// What to look for elsewhere: the id and the longer names anywhere,
    /// the short ones as whole values.
    fn needles(&self) -> Needles {
        let (long, short): (Vec<String>, Vec<String>) =
            self.names.iter().cloned().partition(|n| is_long(n));
        let mut anywhere = vec![self.id.clone()];
        anywhere.extend(long);
        Needles {
            anywhere,
            quoted: short,
        }
    }

    /// A text about the user, without their personal data.
    fn about(&self, s: &str) -> String {
        self.all
            .iter()
            .fold(s.to_string(), |out, v| replace_words(&out, v, REDACTED))
    }

    /// A text elsewhere, without the user's names.
    fn elsewhere(&self, s: &str) -> String {
        if !replace_words(s, &self.id, "").eq(s) {
            return self.about(s);
        }
        self.names.iter().fold(s.to_string(), |out, v| {
            if is_long(v) {
                replace_words(&out, v, REDACTED)
            } else if out.eq_ignore_ascii_case(v) {
                REDACTED.to_string()
            } else {
                replace_words(&out, &format!("\"{v}\""), &format!("\"{REDACTED}\""))
            }
        })
    }
}

/// Long enough to stand for the user wherever it stands as a word.
fn is_long(v: &str) -> bool {
    v.chars().count() >= 3
}

/// Distinct non-empty values, longest first (a longer value is not cut up
/// by a shorter one inside it).
fn longest_first(mut values: Vec<String>) -> Vec<String> {
    values.retain(|v| !v.trim().is_empty() && v != REDACTED && v != PURGED_USER);
    values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    values.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    values
}

/// `s` with every whole-word occurrence of `word` (ASCII case-insensitive)
/// replaced: an occurrence counts when no letter or digit touches it on a
/// side where the word itself begins or ends with one.
fn replace_words(s: &str, word: &str, with: &str) -> String {
    if word.is_empty() {
        return s.to_string();
    }
    // ASCII folding keeps every byte offset, so positions found in the
    // folded text cut the original at the same places.
    let hay = s.to_ascii_lowercase();
    let pat = word.to_ascii_lowercase();
    let word_start = word.chars().next().is_some_and(char::is_alphanumeric);
    let word_end = word.chars().next_back().is_some_and(char::is_alphanumeric);
    let mut out = String::with_capacity(s.len());
    let (mut last, mut from) = (0, 0);
    while let Some(pos) = hay[from..].find(&pat) {
        let (i, j) = (from + pos, from + pos + pat.len());
        let before = s[..i]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let after = s[j..].chars().next().is_some_and(char::is_alphanumeric);
        if (word_start && before) || (word_end && after) {
            from = i + hay[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        out.push_str(&s[last..i]);
        out.push_str(with);
        (last, from) = (j, j);
    }
    out.push_str(&s[last..]);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn data() -> PersonalData {
        PersonalData {
            id: "u-7".into(),
            all: longest_first(vec![
                "jo".into(),
                "Jo Archer".into(),
                "jo@acme.test".into(),
                "Qi".into(),
                "Archer".into(),
            ]),
            names: longest_first(vec!["jo".into(), "Jo Archer".into(), "jo@acme.test".into()]),
        }
    }

    #[test]
    fn whole_words_only_in_any_case() {
        assert_eq!(
            replace_words("Jo, jo.x JOHN jo", "jo", "[r]"),
            "[r], [r].x JOHN [r]"
        );
        assert_eq!(
            replace_words("a@b.test;xa@b.test", "a@b.test", "[r]"),
            "[r];xa@b.test"
        );
        assert_eq!(replace_words("état jo", "jo", "[r]"), "état [r]");
        assert_eq!(replace_words("ajo", "jo", "[r]"), "ajo");
        // A value that begins with punctuation is found glued to a word.
        assert_eq!(replace_words("x-12-y", "-12-", "[r]"), "x[r]y");
    }

    #[test]
    fn rows_about_the_user_lose_every_value_of_any_length() {
        let d = data();
        assert_eq!(
            d.about("user \"Jo Archer\" (jo@acme.test): givenName Qi, familyName archer"),
            "user \"[redacted]\" ([redacted]): givenName [redacted], familyName [redacted]"
        );
    }

    #[test]
    fn rows_elsewhere_lose_long_names_and_short_ones_only_as_a_whole() {
        let d = data();
        // "jo" is two letters: a word "jo" in a sentence is left, a quoted
        // or whole value goes.
        assert_eq!(
            d.elsewhere("ownership transfer to \"jo\" queued; jo said Jo Archer"),
            "ownership transfer to \"[redacted]\" queued; jo said [redacted]"
        );
        assert_eq!(d.elsewhere("JO"), "[redacted]");
        // A text carrying the user's id is about the user.
        assert_eq!(
            d.elsewhere("fallback owner jo (u-7)"),
            "fallback owner [redacted] (u-7)"
        );
        assert_eq!(d.elsewhere("u-70 jo"), "u-70 jo");
        let n = d.needles();
        assert_eq!(n.anywhere, vec!["u-7", "jo@acme.test", "Jo Archer"]);
        assert_eq!(n.quoted, vec!["jo"]);
    }
}
