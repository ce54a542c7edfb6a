-- A tenant's owner and its re-create choice (SQLite 0021).
ALTER TABLE tenants ADD COLUMN owner TEXT;
ALTER TABLE tenants ADD COLUMN recreate_deleted TEXT
    CHECK (recreate_deleted IS NULL OR recreate_deleted IN ('hold', 'restore'));

-- Deprovisioning jobs gain mode `hold`.
ALTER TABLE deprovision_jobs DROP CONSTRAINT deprovision_jobs_mode_check;
ALTER TABLE deprovision_jobs ADD CONSTRAINT deprovision_jobs_mode_check
    CHECK (mode IN ('deactivate', 'delete', 'hold'));
