-- Move staged good records into logs; a record already there (same dedupe key) is skipped.
INSERT INTO logintel.logs (ts, service, source, source_line, level, message, is_anomaly, attrs,
                           ingest_batch_id, dedupe_key)
SELECT ts, service, source, source_line, level, message, is_anomaly, attrs, %(batch_id)s, dedupe_key
FROM ingest_stage
WHERE error IS NULL
ON CONFLICT (dedupe_key) DO NOTHING
