-- The directory: effective access, lifecycle, ownership transfer.

-- Effective access, computed by the role-mapping policy inside every write
-- that changes its inputs (`user_type` already exists).
ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
ALTER TABLE users ADD COLUMN plan TEXT;
ALTER TABLE users ADD COLUMN access TEXT NOT NULL DEFAULT '{}';      -- explanation (JSON)
ALTER TABLE users ADD COLUMN local_access TEXT NOT NULL DEFAULT '{}'; -- admin settings (JSON)
-- 1: provisioned by an identity provider (its attributes are its own).
ALTER TABLE users ADD COLUMN managed INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN invited INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN signed_in_at TEXT;       -- first sign-in
ALTER TABLE users ADD COLUMN last_sign_in_at TEXT;
ALTER TABLE users ADD COLUMN banned_at TEXT;
ALTER TABLE users ADD COLUMN ban_reason TEXT;
-- Soft deletion: hidden from SCIM from deleted_at on; `deletion` (JSON) says
-- where the ownership transfer stands; purged after purge_after.
ALTER TABLE users ADD COLUMN deleted_at TEXT;
ALTER TABLE users ADD COLUMN deletion TEXT;
ALTER TABLE users ADD COLUMN purge_after TEXT;
ALTER TABLE users ADD COLUMN status TEXT GENERATED ALWAYS AS (
    CASE
        WHEN deleted_at IS NOT NULL THEN 'deleted'
        WHEN banned_at IS NOT NULL THEN 'banned'
        WHEN active = 0 THEN 'disabled'
        WHEN signed_in_at IS NOT NULL THEN 'active'
        WHEN invited = 1 THEN 'invited'
        ELSE 'created'
    END) VIRTUAL;

-- A deleted user's userName is free again at once.
DROP INDEX users_user_name;
CREATE UNIQUE INDEX users_user_name ON users(tenant_id, user_name_ci) WHERE deleted_at IS NULL;
CREATE INDEX users_role ON users(tenant_id, role);
CREATE INDEX users_purge ON users(purge_after) WHERE purge_after IS NOT NULL;

-- Admin credentials: a token bound to a user acts as that user.
ALTER TABLE tokens ADD COLUMN user_id TEXT;

-- The acting user (when an admin user acted), so a purge can redact it.
ALTER TABLE audit_log ADD COLUMN actor_user_id TEXT;

-- Webhook delivery of events.
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
ALTER TABLE outbox ADD COLUMN last_error TEXT;

-- Ownership-transfer calls: committed with the deletion, delivered by the
-- worker with backoff until the host answers 2xx.
CREATE TABLE transfers (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL,
    user_id         TEXT NOT NULL,
    successor_id    TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    payload         TEXT NOT NULL,
    created         TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    delivered_at    TEXT,
    cancelled_at    TEXT
);
CREATE INDEX transfers_due ON transfers(next_attempt_at) WHERE delivered_at IS NULL AND cancelled_at IS NULL;
CREATE INDEX transfers_user ON transfers(tenant_id, user_id);
