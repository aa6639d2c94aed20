-- A batch whose data transaction rolled back: nothing of it is stored.
UPDATE logintel.ingest_batches SET status = 'failed', finished_at = now(), failure_reason = %(reason)s
WHERE id = %(batch_id)s
