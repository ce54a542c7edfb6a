-- Sign-in provisioning from ID tokens (SQLite 0010).

CREATE TABLE oidc_bindings (
    tenant_id  BIGINT NOT NULL REFERENCES tenants(id),
    issuer     TEXT NOT NULL COLLATE "C",
    subject    TEXT NOT NULL COLLATE "C",
    user_pk    BIGINT NOT NULL REFERENCES users(pk) ON DELETE CASCADE,
    created    TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, issuer, subject)
);
CREATE INDEX oidc_bindings_user ON oidc_bindings(user_pk, issuer);

ALTER TABLE users ADD COLUMN claims TEXT;
