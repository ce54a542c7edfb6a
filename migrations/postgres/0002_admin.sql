-- The admin API and compliance deprovisioning (SQLite 0007).

ALTER TABLE tenants ADD COLUMN registrations BIGINT NOT NULL DEFAULT 1;
ALTER TABLE tenants ADD COLUMN fallback_owner TEXT;

ALTER TABLE users ADD COLUMN invite_hash TEXT;
CREATE UNIQUE INDEX users_invite ON users(invite_hash) WHERE invite_hash IS NOT NULL;

CREATE INDEX users_status ON users(tenant_id, status);
CREATE INDEX users_last_sign_in ON users(tenant_id, last_sign_in_at);

CREATE TABLE deprovision_jobs (
    id            TEXT PRIMARY KEY,
    tenant_id     BIGINT NOT NULL REFERENCES tenants(id),
    mode          TEXT NOT NULL CHECK (mode IN ('deactivate', 'delete')),
    match_on      TEXT NOT NULL CHECK (match_on IN ('userName', 'email', 'externalId')),
    transfer_to   TEXT,
    dry_run       BIGINT NOT NULL,
    input_hash    TEXT NOT NULL,
    source        TEXT NOT NULL,
    actor         TEXT NOT NULL,
    actor_user_id TEXT,
    state         TEXT NOT NULL,
    total         BIGINT NOT NULL,
    created       TEXT NOT NULL COLLATE "C",
    finished      TEXT,
    lease_until   TEXT COLLATE "C",
    runner        TEXT
);
CREATE INDEX deprovision_jobs_tenant ON deprovision_jobs(tenant_id, created);
CREATE INDEX deprovision_jobs_running ON deprovision_jobs(state, lease_until);

CREATE TABLE deprovision_rows (
    job_id        TEXT NOT NULL REFERENCES deprovision_jobs(id) ON DELETE CASCADE,
    row_no        BIGINT NOT NULL,
    input         TEXT NOT NULL,
    done          BIGINT NOT NULL DEFAULT 0,
    outcome       TEXT,
    user_id       TEXT,
    user_name     TEXT,
    action        TEXT,
    status_before TEXT,
    status_after  TEXT,
    hook          TEXT,
    error         TEXT,
    PRIMARY KEY (job_id, row_no)
);
CREATE INDEX deprovision_rows_pending ON deprovision_rows(job_id, done, row_no);
