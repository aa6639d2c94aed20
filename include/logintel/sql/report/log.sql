-- Plugin: one stored log.
SELECT id, ts, service, source, source_line, level, message, is_anomaly, attrs,
       ingest_batch_id, ingested_at
FROM logintel.logs
WHERE id = %(log_id)s
