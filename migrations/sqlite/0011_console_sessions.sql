-- The admin console: server-side sessions and one-time sign-in links.
-- Only the SHA-256 (hex) of a session id or a link secret is stored: the
-- database alone opens no session.

CREATE TABLE console_sessions (
    id_hash    TEXT PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    user_id    TEXT NOT NULL,            -- the directory user signed in
    via        TEXT NOT NULL,            -- login-link | oidc
    created    TEXT NOT NULL,            -- the absolute timeout counts from here
    last_seen  TEXT NOT NULL             -- the idle timeout counts from here
);
CREATE INDEX console_sessions_user ON console_sessions(tenant_id, user_id);
CREATE INDEX console_sessions_seen ON console_sessions(last_seen);

CREATE TABLE console_login_links (
    hash       TEXT PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    user_id    TEXT NOT NULL,
    created    TEXT NOT NULL,
    expires    TEXT NOT NULL,
    used       TEXT                      -- set when the link opened a session
);
CREATE INDEX console_login_links_expires ON console_login_links(expires);
