-- Ownership transfers beyond a deletion's hand-over: why a transfer is
-- made (`reason`: `deletion`, or `viewer` for a user who became a viewer
-- and so owns nothing), what becomes of the assets (`assets`: `transfer`
-- to the successor, or `delete` on the host; then `successor_id` is ''),
-- and why one waits for an admin to name a successor (`waiting`; it is not
-- due until then). Audit rows keep data beside their words (`details`, a
-- JSON object): what the host said it moved, the successor, the reason.
ALTER TABLE transfers ADD COLUMN reason TEXT NOT NULL DEFAULT 'deletion';
ALTER TABLE transfers ADD COLUMN assets TEXT NOT NULL DEFAULT 'transfer';
ALTER TABLE transfers ADD COLUMN waiting TEXT;
ALTER TABLE audit_log ADD COLUMN details TEXT;
