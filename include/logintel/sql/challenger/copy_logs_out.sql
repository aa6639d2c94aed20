-- The logs a comparison needs, for COPY into its scratch database: everything up to %(hi)s,
-- the history (up to %(cut)s, what the challenger trained on) in batch 1, the hold-out in batch 2.
COPY (
    SELECT id, ts, service, source, source_line, level, message, is_anomaly, attrs,
           (CASE WHEN id <= %(cut)s THEN 1 ELSE 2 END)::bigint, ingested_at, dedupe_key
    FROM logintel.logs WHERE id <= %(hi)s
) TO STDOUT (FORMAT binary)
