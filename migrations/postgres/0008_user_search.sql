-- The admin user search index (src/store/search.rs): one row per user and
-- term, a term being a folded userName, displayName or email read from a
-- word start on (the first character, and every character that is not
-- whitespace following one of another class: whitespace, ASCII
-- punctuation, anything else), at most 64 characters. A search is a range
-- on (tenant_id, term), in byte order (COLLATE "C"). Kept by every user
-- write; removed with the user. The same table and rule as SQLite's 0013.
CREATE TABLE user_search_terms (
    tenant_id BIGINT NOT NULL,
    user_pk   BIGINT NOT NULL REFERENCES users(pk) ON DELETE CASCADE,
    term      TEXT NOT NULL COLLATE "C",
    PRIMARY KEY (user_pk, term)
);
CREATE INDEX user_search_terms_term ON user_search_terms(tenant_id, term, user_pk);

-- The terms of the users already stored: the same rule, in SQL. Folding is
-- ASCII-only, as the store's `fold` (PostgreSQL's lower() is not).
WITH RECURSIVE src(tenant_id, user_pk, v) AS (
    SELECT tenant_id, pk, user_name_ci FROM users
    UNION ALL
    SELECT tenant_id, pk,
           translate((data::jsonb)->>'displayName', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
      FROM users WHERE jsonb_typeof((data::jsonb)->'displayName') = 'string'
    UNION ALL
    SELECT tenant_id, user_pk, value_ci FROM user_values
     WHERE attr = 'emails' AND value_ci IS NOT NULL
),
pos(tenant_id, user_pk, v, i, cls, prev) AS (
    SELECT tenant_id, user_pk, v, 1,
           CASE WHEN substr(v, 1, 1) IN (' ', chr(9), chr(10), chr(13)) THEN 's'
                WHEN strpos('!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~', substr(v, 1, 1)) > 0 THEN 'p'
                ELSE 'w' END,
           NULL::text
      FROM src WHERE v <> ''
    UNION ALL
    SELECT tenant_id, user_pk, v, i + 1,
           CASE WHEN substr(v, i + 1, 1) IN (' ', chr(9), chr(10), chr(13)) THEN 's'
                WHEN strpos('!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~', substr(v, i + 1, 1)) > 0 THEN 'p'
                ELSE 'w' END,
           cls
      FROM pos WHERE i < length(v)
)
INSERT INTO user_search_terms (tenant_id, user_pk, term)
SELECT DISTINCT tenant_id, user_pk, substr(v, i, 64) FROM pos
 WHERE i = 1 OR (cls <> 's' AND cls <> prev);

-- The admin list's sort by email (the smallest folded email, as before)
-- walks an index instead of a subquery per user; kept with user_values.
ALTER TABLE users ADD COLUMN email_ci TEXT COLLATE "C";
UPDATE users SET email_ci = (SELECT min(v.value_ci) FROM user_values v
                              WHERE v.user_pk = users.pk AND v.attr = 'emails');
CREATE INDEX users_email ON users(tenant_id, email_ci, pk);
-- Counting a tenant's live users reads this index alone.
CREATE INDEX users_live ON users(tenant_id, deleted_at);
