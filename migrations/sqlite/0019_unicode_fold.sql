-- Unicode case folding (scim_protocol::text::fold): folded shadows of the
-- JSON that filters and sorts read case-insensitively (users only: a group's
-- only case-insensitive text, displayName, has its column), computed by Rollcall
-- at write time (never SQL's lower()). Existing rows are refolded at the
-- first start of this version (store/refold.rs), which then records
-- `fold = unicode-full-1` here.
ALTER TABLE users ADD COLUMN data_ci TEXT;
ALTER TABLE user_values ADD COLUMN elem_ci TEXT;
ALTER TABLE memberships ADD COLUMN display_ci TEXT;
CREATE TABLE store_facts (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
