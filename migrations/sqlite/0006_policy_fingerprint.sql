-- The directory policy (catalogs, role mapping, tenant settings) a tenant's
-- effective access was last computed with; a change triggers a recompute
-- at start.
ALTER TABLE tenants ADD COLUMN policy_hash TEXT;
