-- The user's type (user | viewer), promoted from the access extension so
-- seats can be counted from an index.
ALTER TABLE users ADD COLUMN user_type TEXT NOT NULL DEFAULT 'user';
CREATE INDEX users_type ON users(tenant_id, user_type);
-- Optional seat limits per tenant (NULL: unlimited), set from the config.
ALTER TABLE tenants ADD COLUMN max_users INTEGER;
ALTER TABLE tenants ADD COLUMN max_viewers INTEGER;
