-- Scopes on every credential, and when each token was last used.
-- Existing tokens keep what they were used for: a tenant token keeps SCIM,
-- the event feed and the host's sign-in reports (it loses the admin reads
-- and the audit trail); a token bound to a user becomes an admin credential.
-- A row without scopes grants nothing.
ALTER TABLE tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
UPDATE tokens SET scopes = CASE WHEN user_id IS NULL THEN 'scim,events,sign-in' ELSE 'admin' END;

-- Deleting a user revokes the tokens bound to them; do it now for users
-- deleted before this version.
UPDATE tokens SET revoked = (SELECT u.deleted_at FROM users u WHERE u.id = tokens.user_id)
WHERE revoked IS NULL
  AND user_id IN (SELECT id FROM users WHERE deleted_at IS NOT NULL);

CREATE INDEX tokens_user ON tokens(user_id) WHERE user_id IS NOT NULL;
