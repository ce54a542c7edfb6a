//! `rollcall backup`: a consistent copy of a SQLite database, checked.

use std::path::Path;

use sqlx::{Connection, Row};

use super::{Backend, StoreError, StoreResult};

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub bytes: u64,
}

/// Copy the database `url` names into `to` (which must not exist) with
/// SQLite's `VACUUM INTO` (a read transaction: writers go on beside it),
/// then check the copy with `PRAGMA integrity_check`. The source is opened
/// read-only and not migrated, so a backup taken before an upgrade holds
/// the old schema. The copy is one file (no `-wal` or `-shm` beside it); a
/// copy that fails the check is removed. PostgreSQL is backed up with its
/// own `pg_dump`.
pub async fn backup(url: &str, to: &Path) -> StoreResult<BackupReport> {
    sqlx::any::install_default_drivers();
    if Backend::of_url(url) != Some(Backend::Sqlite) {
        return Err(StoreError::Io(
            "rollcall backup copies SQLite databases; back PostgreSQL up with pg_dump (docs/operations.md)".into(),
        ));
    }
    if to.exists() {
        return Err(StoreError::Io(format!(
            "{} exists already: a backup never overwrites a file",
            to.display()
        )));
    }
    let target = to
        .to_str()
        .ok_or_else(|| StoreError::Io("the backup path is not valid UTF-8".into()))?;
    let mut source = sqlx::AnyConnection::connect(&super::pool::sqlite_url(url, "ro")).await?;
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut source)
        .await;
    let _ = source.close().await;
    copied?;
    if let Err(e) = check_copy(target).await {
        let _ = std::fs::remove_file(to);
        return Err(e);
    }
    let bytes = std::fs::metadata(to)
        .map_err(|e| StoreError::Io(format!("{}: {e}", to.display())))?
        .len();
    Ok(BackupReport { bytes })
}

/// `PRAGMA integrity_check` on the copy, opened read-only on its own.
async fn check_copy(path: &str) -> StoreResult<()> {
    let url = format!("sqlite://{path}?mode=ro");
    let mut conn = sqlx::AnyConnection::connect(&url).await?;
    let rows = sqlx::query("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await?;
    let verdicts: Vec<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .collect();
    let _ = conn.close().await;
    if verdicts == ["ok"] {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "the copy failed its integrity check: {}",
            verdicts.join("; ")
        )))
    }
}
