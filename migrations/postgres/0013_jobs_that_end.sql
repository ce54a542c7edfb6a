-- A deprovisioning job ends: done, failed (it could not go on) or
-- cancelled (an admin stopped it); a failed or cancelled job says why.
ALTER TABLE deprovision_jobs ADD COLUMN reason TEXT;

-- A job's audit trail is found by the job's id, written by the job's runner
-- only; the request id is a client's correlation value and proves nothing.
-- Rows written before this column: a job's own rows carried its id as
-- their request id, with the job's actor, while the job ran.
ALTER TABLE audit_log ADD COLUMN job_id TEXT;
UPDATE audit_log SET job_id = request_id
 WHERE request_id IS NOT NULL
   AND EXISTS (SELECT 1 FROM deprovision_jobs j
                WHERE j.id = audit_log.request_id AND j.tenant_id = audit_log.tenant_id
                  AND j.actor = audit_log.actor AND audit_log.at COLLATE "C" >= j.created
                  AND (j.finished IS NULL OR audit_log.at COLLATE "C" <= j.finished));
CREATE INDEX audit_log_job ON audit_log(tenant_id, job_id, id) WHERE job_id IS NOT NULL;

-- A purge finds the report rows about its user.
CREATE INDEX deprovision_rows_user ON deprovision_rows(user_id) WHERE user_id IS NOT NULL;
