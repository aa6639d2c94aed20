-- Staged records that failed parsing or a row rule go to quarantine with their raw bytes.
INSERT INTO logintel.logs_quarantine (batch_id, source, source_line, raw, reason)
SELECT %(batch_id)s, source, source_line, raw, error
FROM ingest_stage
WHERE error IS NOT NULL
ON CONFLICT DO NOTHING
