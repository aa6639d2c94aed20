SELECT id, ts, service, level, message, dedupe_key::text AS dedupe_key,
       (ts > now() + interval '{tolerance} minutes') AS ts_in_future
FROM logintel.logs
WHERE ingest_batch_id IN ({batch_ids})
