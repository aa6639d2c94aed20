-- Finished ingest batches that loaded rows and that no quality run has covered yet.
SELECT b.id
FROM logintel.ingest_batches b
WHERE b.status = 'done' AND b.loaded_count > 0
  AND NOT EXISTS (
      SELECT 1 FROM logintel.dq_runs r
      WHERE r.suite = 'logs_quality' AND b.id::text = ANY (string_to_array(r.batch_ref, ','))
  )
ORDER BY b.id
