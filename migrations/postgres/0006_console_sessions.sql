-- The admin console: server-side sessions and one-time sign-in links
-- (SQLite 0011). Only the SHA-256 (hex) of a session id or a link secret
-- is stored.

CREATE TABLE console_sessions (
    id_hash    TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    user_id    TEXT NOT NULL,
    via        TEXT NOT NULL,
    created    TEXT NOT NULL COLLATE "C",
    last_seen  TEXT NOT NULL COLLATE "C"
);
CREATE INDEX console_sessions_user ON console_sessions(tenant_id, user_id);
CREATE INDEX console_sessions_seen ON console_sessions(last_seen);

CREATE TABLE console_login_links (
    hash       TEXT PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    user_id    TEXT NOT NULL,
    created    TEXT NOT NULL COLLATE "C",
    expires    TEXT NOT NULL COLLATE "C",
    used       TEXT
);
CREATE INDEX console_login_links_expires ON console_login_links(expires);
