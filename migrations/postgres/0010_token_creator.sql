-- Who made each token (SQLite 0015): the user who made it in the console or
-- through the admin API (their id, never their name: the row outlives a
-- purge of that user), else the actor that did (`cli:<login>`,
-- `rollcall:bootstrap`). NULL: made before this version.
ALTER TABLE tokens ADD COLUMN created_by TEXT;
ALTER TABLE tokens ADD COLUMN created_by_user_id TEXT;
