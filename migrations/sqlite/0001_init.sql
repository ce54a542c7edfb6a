-- Rollcall schema v1 (SQLite).
CREATE TABLE tenants (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,          -- public part of the token
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    label       TEXT NOT NULL,
    secret_hash BLOB NOT NULL,             -- SHA-256 of the whole token
    created     TEXT NOT NULL,
    revoked     TEXT
);

CREATE TABLE users (
    pk            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    id            TEXT NOT NULL,
    user_name     TEXT NOT NULL,
    user_name_ci  TEXT NOT NULL,
    external_id   TEXT,
    active        INTEGER NOT NULL DEFAULT 1,
    data          TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created       TEXT NOT NULL,
    last_modified TEXT NOT NULL
);
CREATE UNIQUE INDEX users_id ON users(id);
CREATE UNIQUE INDEX users_user_name ON users(tenant_id, user_name_ci);
CREATE INDEX users_external_id ON users(tenant_id, external_id);
CREATE INDEX users_created ON users(tenant_id, created);
CREATE INDEX users_last_modified ON users(tenant_id, last_modified);

-- One row per value of a multi-valued complex attribute (emails, phoneNumbers, …),
-- so that filters such as emails[type eq "work"].value eq "…" use an index.
CREATE TABLE user_values (
    user_pk    INTEGER NOT NULL REFERENCES users(pk) ON DELETE CASCADE,
    tenant_id  INTEGER NOT NULL,
    attr       TEXT NOT NULL,
    value      TEXT,
    value_ci   TEXT,
    type_ci    TEXT,
    is_primary INTEGER NOT NULL DEFAULT 0,
    elem       TEXT NOT NULL
);
CREATE INDEX user_values_value ON user_values(tenant_id, attr, value_ci);
CREATE INDEX user_values_exact ON user_values(tenant_id, attr, value);
CREATE INDEX user_values_type ON user_values(tenant_id, attr, type_ci, value_ci);
CREATE INDEX user_values_user ON user_values(user_pk);

CREATE TABLE groups (
    pk              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
    id              TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    display_name_ci TEXT NOT NULL,
    external_id     TEXT,
    data            TEXT NOT NULL,
    version         INTEGER NOT NULL,
    created         TEXT NOT NULL,
    last_modified   TEXT NOT NULL
);
CREATE UNIQUE INDEX groups_id ON groups(id);
CREATE UNIQUE INDEX groups_display_name ON groups(tenant_id, display_name_ci);
CREATE INDEX groups_external_id ON groups(tenant_id, external_id);
CREATE INDEX groups_created ON groups(tenant_id, created);
CREATE INDEX groups_last_modified ON groups(tenant_id, last_modified);

-- Group membership: members are Users or Groups, addressed by their id.
CREATE TABLE memberships (
    group_pk    INTEGER NOT NULL REFERENCES groups(pk) ON DELETE CASCADE,
    tenant_id   INTEGER NOT NULL,
    member_id   TEXT NOT NULL,
    member_type TEXT NOT NULL CHECK (member_type IN ('User', 'Group')),
    display     TEXT,                      -- as the client sent it
    PRIMARY KEY (group_pk, member_id)
) WITHOUT ROWID;
CREATE INDEX memberships_member ON memberships(tenant_id, member_id);

-- Every change: who, from where, what. Outlives the object it describes.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    source_ip   TEXT,
    request_id  TEXT,
    object_type TEXT NOT NULL,
    object_id   TEXT,
    object_name TEXT,
    action      TEXT NOT NULL,
    description TEXT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log(tenant_id, id);

-- Events for the host platform, committed with the change that caused them.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL,
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    object_id    TEXT,
    payload      TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX outbox_pending ON outbox(delivered_at, id);
