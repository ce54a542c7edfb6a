-- The audit log screen filters by the acting user, the action, the object
-- type and the date, and pages by id within each.
CREATE INDEX audit_log_actor_user ON audit_log(tenant_id, actor_user_id, id);
CREATE INDEX audit_log_action ON audit_log(tenant_id, action, id);
CREATE INDEX audit_log_object_type ON audit_log(tenant_id, object_type, id);
CREATE INDEX audit_log_at ON audit_log(tenant_id, at, id);
