-- A tenant's directory policy (role catalog with permissions, plans,
-- ordered mapping rules) as data: the current document and its version,
-- and every version applied (who, when). A tenant without a row follows
-- the configuration file.
CREATE TABLE tenant_policies (
    tenant_id BIGINT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    document TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE TABLE policy_versions (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    document TEXT NOT NULL,
    created_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);
