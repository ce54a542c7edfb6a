-- Sign-in provisioning from ID tokens ([[oidc]]).

-- Which identity of which issuer is which user: found on the first sign-in
-- (by verified email, or created), then used on every later one. Removed
-- with the user when it is purged.
CREATE TABLE oidc_bindings (
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_pk    INTEGER NOT NULL REFERENCES users(pk) ON DELETE CASCADE,
    created    TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, issuer, subject)
) WITHOUT ROWID;
CREATE INDEX oidc_bindings_user ON oidc_bindings(user_pk, issuer);

-- The claims of the user's latest sign-in that role mapping reads
-- ({"issuer", "roles", "groups"}), kept so that every later recompute
-- sees them. NULL: the user never signed in with an ID token.
ALTER TABLE users ADD COLUMN claims TEXT;
