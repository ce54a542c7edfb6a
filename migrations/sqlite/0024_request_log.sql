-- The request log: one row per SCIM request a tenant's credential made
-- (refused tokens too, attributed by the token's id), the error detail of
-- a failure and its body, masked. Rows older than [request_log]
-- retention_days are pruned by the worker.
CREATE TABLE request_log (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL,
    at          TEXT NOT NULL,
    method      TEXT NOT NULL,
    route       TEXT NOT NULL,
    status      INTEGER NOT NULL,
    latency_ms  INTEGER NOT NULL,
    credential  TEXT,
    refused     INTEGER NOT NULL DEFAULT 0,
    user_agent  TEXT,
    code        TEXT,
    detail      TEXT,
    body        TEXT,
    request_id  TEXT
);
CREATE INDEX request_log_tenant ON request_log(tenant_id, id);
CREATE INDEX request_log_credential ON request_log(tenant_id, credential, id);
CREATE INDEX request_log_at ON request_log(at);
