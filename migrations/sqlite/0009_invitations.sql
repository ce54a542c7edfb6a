-- Invitations that stay secret: one row per link issued, holding only the
-- SHA-256 of its secret. A link expires (expires_at) and ends once:
-- accepted, withdrawn by an admin, or replaced by a newer link. At most one
-- link of a user is open at a time.
CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    user_id     TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created     TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    ended       TEXT CHECK (ended IN ('accepted', 'withdrawn', 'replaced')),
    ended_at    TEXT
);
CREATE UNIQUE INDEX invitations_secret ON invitations(secret_hash);
CREATE UNIQUE INDEX invitations_open ON invitations(tenant_id, user_id) WHERE ended IS NULL;
CREATE INDEX invitations_user ON invitations(tenant_id, user_id, created);

-- Links issued before links expired keep working for the default lifetime
-- (168 hours) from this migration on.
INSERT INTO invitations (id, tenant_id, user_id, secret_hash, created, expires_at)
SELECT 'migrated-' || id, tenant_id, id, invite_hash, created,
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+168 hours')
FROM users
WHERE invite_hash IS NOT NULL AND deleted_at IS NULL AND signed_in_at IS NULL;

DROP INDEX users_invite;
ALTER TABLE users DROP COLUMN invite_hash;

-- Invitation emails: what was sent to whom and how it went. The link is not
-- here: it goes from the inviting request to the mailer in memory only.
CREATE TABLE mail_outbox (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    kind          TEXT NOT NULL,          -- invitation
    user_id       TEXT NOT NULL,
    invitation_id TEXT NOT NULL,
    recipient     TEXT NOT NULL,
    created       TEXT NOT NULL,
    give_up_at    TEXT NOT NULL,          -- pending past this: the sender is gone
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    sent_at       TEXT,
    failed_at     TEXT                    -- failed, cancelled or abandoned
);
CREATE INDEX mail_outbox_invitation ON mail_outbox(invitation_id);
CREATE INDEX mail_outbox_pending ON mail_outbox(give_up_at) WHERE sent_at IS NULL AND failed_at IS NULL;
