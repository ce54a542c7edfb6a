-- Audit queries by object (a user's history) and by actor.
CREATE INDEX audit_log_object ON audit_log(tenant_id, object_id, id);
CREATE INDEX audit_log_actor ON audit_log(tenant_id, actor, id);
CREATE INDEX outbox_tenant ON outbox(tenant_id, id);
