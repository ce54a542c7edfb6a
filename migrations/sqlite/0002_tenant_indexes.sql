-- Unfiltered lists walk one tenant's rows in creation order, not the table.
CREATE INDEX users_tenant ON users(tenant_id, pk);
CREATE INDEX groups_tenant ON groups(tenant_id, pk);
