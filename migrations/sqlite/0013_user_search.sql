-- The admin user search index (src/store/search.rs): one row per user and
-- term, a term being a folded userName, displayName or email read from a
-- word start on (the first character, and every character that is not
-- whitespace following one of another class: whitespace, ASCII
-- punctuation, anything else), at most 64 characters. A search is a range
-- on (tenant_id, term). Kept by every user write; removed with the user.
CREATE TABLE user_search_terms (
    tenant_id INTEGER NOT NULL,
    user_pk   INTEGER NOT NULL REFERENCES users(pk) ON DELETE CASCADE,
    term      TEXT NOT NULL,
    PRIMARY KEY (user_pk, term)
) WITHOUT ROWID;
CREATE INDEX user_search_terms_term ON user_search_terms(tenant_id, term, user_pk);

-- The terms of the users already stored: the same rule, in SQL.
WITH RECURSIVE src(tenant_id, user_pk, v) AS (
    SELECT tenant_id, pk, user_name_ci FROM users
    UNION ALL
    SELECT tenant_id, pk, lower(json_extract(data, '$.displayName')) FROM users
     WHERE json_type(data, '$.displayName') = 'text'
    UNION ALL
    SELECT tenant_id, user_pk, value_ci FROM user_values
     WHERE attr = 'emails' AND value_ci IS NOT NULL
),
pos(tenant_id, user_pk, v, i, cls, prev) AS (
    SELECT tenant_id, user_pk, v, 1,
           CASE WHEN substr(v, 1, 1) IN (' ', char(9), char(10), char(13)) THEN 's'
                WHEN instr('!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~', substr(v, 1, 1)) > 0 THEN 'p'
                ELSE 'w' END,
           NULL
      FROM src WHERE v <> ''
    UNION ALL
    SELECT tenant_id, user_pk, v, i + 1,
           CASE WHEN substr(v, i + 1, 1) IN (' ', char(9), char(10), char(13)) THEN 's'
                WHEN instr('!"#$%&''()*+,-./:;<=>?@[\]^_`{|}~', substr(v, i + 1, 1)) > 0 THEN 'p'
                ELSE 'w' END,
           cls
      FROM pos WHERE i < length(v)
)
INSERT INTO user_search_terms (tenant_id, user_pk, term)
SELECT DISTINCT tenant_id, user_pk, substr(v, i, 64) FROM pos
 WHERE i = 1 OR (cls <> 's' AND cls <> prev);

-- The admin list's sort by email (the smallest folded email, as before)
-- walks an index instead of a subquery per user; kept with user_values.
ALTER TABLE users ADD COLUMN email_ci TEXT;
UPDATE users SET email_ci = (SELECT min(v.value_ci) FROM user_values v
                              WHERE v.user_pk = users.pk AND v.attr = 'emails');
CREATE INDEX users_email ON users(tenant_id, email_ci);
-- Counting a tenant's live users reads this index alone.
CREATE INDEX users_live ON users(tenant_id, deleted_at);
