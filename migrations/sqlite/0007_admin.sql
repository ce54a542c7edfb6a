-- The admin API and compliance deprovisioning.

-- Tenant settings an admin changes at run time (the config file sets the
-- rest): whether new users may be invited, and the fallback owner of a
-- leaver's assets (a user id; overrides the config file's).
ALTER TABLE tenants ADD COLUMN registrations INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tenants ADD COLUMN fallback_owner TEXT;

-- Invitation links: only the hash of the secret in the link is kept.
ALTER TABLE users ADD COLUMN invite_hash TEXT;
CREATE UNIQUE INDEX users_invite ON users(invite_hash) WHERE invite_hash IS NOT NULL;

-- The admin user list filters and sorts on these.
CREATE INDEX users_status ON users(tenant_id, status);
CREATE INDEX users_last_sign_in ON users(tenant_id, last_sign_in_at);

-- A bulk deprovisioning job: its input rows and how far it got, so that a
-- job killed midway resumes where it stopped.
CREATE TABLE deprovision_jobs (
    id            TEXT PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    mode          TEXT NOT NULL CHECK (mode IN ('deactivate', 'delete')),
    match_on      TEXT NOT NULL CHECK (match_on IN ('userName', 'email', 'externalId')),
    transfer_to   TEXT,                   -- successor user id
    dry_run       INTEGER NOT NULL,
    input_hash    TEXT NOT NULL,          -- finds the job again on a re-run
    source        TEXT NOT NULL,          -- api | cli
    actor         TEXT NOT NULL,
    actor_user_id TEXT,
    state         TEXT NOT NULL,          -- running | done
    total         INTEGER NOT NULL,
    created       TEXT NOT NULL,
    finished      TEXT,
    lease_until   TEXT,                   -- a runner holds the job until then
    runner        TEXT                    -- host:pid of the process running it
);
CREATE INDEX deprovision_jobs_tenant ON deprovision_jobs(tenant_id, created);
CREATE INDEX deprovision_jobs_running ON deprovision_jobs(state, lease_until);

CREATE TABLE deprovision_rows (
    job_id        TEXT NOT NULL REFERENCES deprovision_jobs(id) ON DELETE CASCADE,
    row_no        INTEGER NOT NULL,
    input         TEXT NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT,                   -- matched | none | ambiguous | invalid
    user_id       TEXT,
    user_name     TEXT,
    action        TEXT,
    status_before TEXT,
    status_after  TEXT,
    hook          TEXT,
    error         TEXT,
    PRIMARY KEY (job_id, row_no)
) WITHOUT ROWID;
CREATE INDEX deprovision_rows_pending ON deprovision_rows(job_id, done, row_no);
