-- A batch whose data transaction rolled back: nothing of it is stored.
UPDATE logintel.ingest_batches SET status = 'failed', finished_at = now() WHERE id = %(batch_id)s
