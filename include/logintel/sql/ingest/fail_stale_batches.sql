-- Batches left 'running' by a process that stopped (a crash, a kill): older than a minute and
-- nobody holds their lock (lock_batch.sql). Nothing of them was stored: the data transaction died.
WITH stale AS (
    SELECT id FROM logintel.ingest_batches
    WHERE status = 'running' AND started_at < now() - interval '1 minute'
      AND pg_try_advisory_xact_lock(7412010, id::int)
)
UPDATE logintel.ingest_batches b
SET status = 'failed', finished_at = now(),
    failure_reason = 'left running by a process that stopped (crash or kill); nothing of it was stored'
FROM stale WHERE b.id = stale.id
RETURNING b.id
