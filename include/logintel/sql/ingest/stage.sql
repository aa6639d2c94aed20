-- One staging table for a file: good records (error IS NULL) and quarantined ones (raw + error).
CREATE TEMP TABLE IF NOT EXISTS ingest_stage (
    ts timestamptz, service text, source text, source_line integer, level text,
    message text, is_anomaly boolean, attrs jsonb, message_duration_ms real, dedupe_key uuid, template_key text, raw bytea, error text
) ON COMMIT DROP
