-- A tenant's owner (a user id; the config file's `owner` names the first
-- one, until ownership is handed on) and what becomes of a user an
-- identity provider creates again after their deletion (`hold` or
-- `restore`; NULL: the config file's choice, else the default).
ALTER TABLE tenants ADD COLUMN owner TEXT;
ALTER TABLE tenants ADD COLUMN recreate_deleted TEXT
    CHECK (recreate_deleted IS NULL OR recreate_deleted IN ('hold', 'restore'));

-- Deprovisioning jobs gain mode `hold` (a local ban whose reason is the
-- job's id). SQLite cannot change a CHECK constraint, so both job tables
-- are built again (the rows first: dropping a job cascades to its rows,
-- and no row may be lost), copied, and renamed into place; the renames
-- carry the rows' foreign key along.
CREATE TABLE deprovision_jobs_new (
    id            TEXT PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    mode          TEXT NOT NULL CHECK (mode IN ('deactivate', 'delete', 'hold')),
    match_on      TEXT NOT NULL CHECK (match_on IN ('userName', 'email', 'externalId')),
    transfer_to   TEXT,
    dry_run       INTEGER NOT NULL,
    input_hash    TEXT NOT NULL,
    source        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    actor_user_id TEXT,
    state         TEXT NOT NULL,
    total         INTEGER NOT NULL,
    created       TEXT NOT NULL,
    finished      TEXT,
    lease_until   TEXT,
    runner        TEXT,
    reason        TEXT
);
INSERT INTO deprovision_jobs_new
       (id, tenant_id, mode, match_on, transfer_to, dry_run, input_hash, source, actor,
        actor_user_id, state, total, created, finished, lease_until, runner, reason)
SELECT id, tenant_id, mode, match_on, transfer_to, dry_run, input_hash, source, actor,
       actor_user_id, state, total, created, finished, lease_until, runner, reason
  FROM deprovision_jobs;

CREATE TABLE deprovision_rows_new (
    job_id        TEXT NOT NULL REFERENCES deprovision_jobs_new(id) ON DELETE CASCADE,
    row_no        INTEGER NOT NULL,
    input         TEXT NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT,
    user_id       TEXT,
    user_name     TEXT,
    action        TEXT,
    status_before TEXT,
    status_after  TEXT,
    hook          TEXT,
    error         TEXT,
    PRIMARY KEY (job_id, row_no)
) WITHOUT ROWID;
INSERT INTO deprovision_rows_new
       (job_id, row_no, input, done, outcome, user_id, user_name, action,
        status_before, status_after, hook, error)
SELECT job_id, row_no, input, done, outcome, user_id, user_name, action,
       status_before, status_after, hook, error
  FROM deprovision_rows;

DROP TABLE deprovision_rows;
DROP TABLE deprovision_jobs;
ALTER TABLE deprovision_jobs_new RENAME TO deprovision_jobs;
ALTER TABLE deprovision_rows_new RENAME TO deprovision_rows;

CREATE INDEX deprovision_jobs_tenant ON deprovision_jobs(tenant_id, created);
CREATE INDEX deprovision_jobs_running ON deprovision_jobs(state, lease_until);
CREATE INDEX deprovision_rows_pending ON deprovision_rows(job_id, done, row_no);
CREATE INDEX deprovision_rows_user ON deprovision_rows(user_id) WHERE user_id IS NOT NULL;
