-- Isolated, bounded delivery: each tenant's events go in order on their
-- own (the worker reads every tenant's first undelivered event), a
-- delivery the host keeps refusing becomes a dead letter (dead_at) until an
-- admin replays it (replayed_at restarts its age), and delivered rows are
-- pruned after outbox_retention_days.
ALTER TABLE outbox ADD COLUMN dead_at TEXT;
ALTER TABLE outbox ADD COLUMN replayed_at TEXT;
ALTER TABLE transfers ADD COLUMN dead_at TEXT;
ALTER TABLE transfers ADD COLUMN replayed_at TEXT;
CREATE INDEX outbox_queue ON outbox(tenant_id, id) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_dead ON outbox(tenant_id, id) WHERE dead_at IS NOT NULL;
DROP INDEX transfers_due;
CREATE INDEX transfers_due ON transfers(next_attempt_at) WHERE delivered_at IS NULL AND cancelled_at IS NULL AND dead_at IS NULL;
CREATE INDEX transfers_dead ON transfers(tenant_id, id) WHERE dead_at IS NOT NULL;
CREATE INDEX transfers_delivered ON transfers(delivered_at) WHERE delivered_at IS NOT NULL;
CREATE INDEX transfers_cancelled ON transfers(cancelled_at) WHERE cancelled_at IS NOT NULL;
