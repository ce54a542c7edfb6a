-- Console sign-ins through an identity provider that are under way, so that
-- any instance can finish what another started. Kept: the SHA-256 (hex) of
-- the `state` (the key), of the browser cookie that started it, which
-- provider, the callback address and where to go after. The PKCE verifier
-- and the nonce are derived from the state and the browser cookie together,
-- never stored: the database alone cannot finish a sign-in.
CREATE TABLE console_oidc_pending (
    state_hash   TEXT PRIMARY KEY,
    browser_hash TEXT NOT NULL,
    tenant       TEXT NOT NULL,
    issuer       TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    next_path    TEXT NOT NULL,
    expires      TEXT NOT NULL
);
CREATE INDEX console_oidc_pending_expires ON console_oidc_pending(expires);
