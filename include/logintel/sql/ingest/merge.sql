-- Move staged good records into logs; a record whose dedupe key is stored already is skipped.
-- logintel.log_keys keeps each key once across the time partitions (a unique index of the
-- partitioned logs table would have to include ingested_at): the keys go there first, and only
-- the records whose key was new are loaded, in file order. (Repeats inside the stage were
-- counted as duplicates and dropped from it before: ingest/drop_repeats.)
WITH fresh AS (
    INSERT INTO logintel.log_keys (dedupe_key)
    SELECT dedupe_key FROM ingest_stage WHERE error IS NULL
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING dedupe_key
)
INSERT INTO logintel.logs (ts, service, source, source_line, level, message, is_anomaly, attrs,
                           ingest_batch_id, dedupe_key)
SELECT ts, service, source, source_line, level, message, is_anomaly, attrs, %(batch_id)s, dedupe_key
FROM ingest_stage
WHERE error IS NULL AND dedupe_key IN (SELECT dedupe_key FROM fresh)
