-- Move staged good records into logs; a record whose dedupe key is stored already is skipped.
-- logintel.log_keys keeps each key once across the time partitions (a unique index of the
-- partitioned logs table would have to include ingested_at): the keys go there first, and only
-- the records whose key was new are loaded, in file order. (Repeats inside the stage were
-- counted as duplicates and dropped from it before: ingest/drop_repeats.)
-- Stage order is file order (the hash join on the catalog keeps the stage as its outer side).
WITH fresh AS (
    INSERT INTO logintel.log_keys (dedupe_key)
    SELECT dedupe_key FROM ingest_stage WHERE error IS NULL
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING dedupe_key
)
INSERT INTO logintel.logs (ts, service, source, source_line, level, message, is_anomaly, attrs,
                           message_duration_ms, ingest_batch_id, dedupe_key, template_id)
SELECT s.ts, s.service, s.source, s.source_line, s.level, s.message, s.is_anomaly, s.attrs,
       s.message_duration_ms, %(batch_id)s,
       s.dedupe_key, t.id  -- the catalog id of the key the ingest masked (catalog.ensure_ids gave it)
FROM ingest_stage s
LEFT JOIN logintel.templates t ON t.masker_version = %(masker_version)s AND t.template_key = s.template_key
WHERE s.error IS NULL AND s.dedupe_key IN (SELECT dedupe_key FROM fresh)
