-- One chunk of source rows (extract_raw) straight into logs, in one statement: the rows the parsers
-- would take as they are are inserted. The source's server checked them (`pre_ok`: a message that is
-- not blank, a timestamp it rendered in UTC within the parsers' years, a boolean flag, a service
-- that is not blank; `canonical`: a known level spelling, by the parsers' map from levels.py); here
-- only the size: message and other columns within LOGINTEL_MAX_RECORD_BYTES. A row whose dedupe key
-- (its table and key) is stored already is skipped: a duplicate. The keys of the other rows come
-- back for the Python checks, which give each its exact quarantine reason (every row of a source
-- with bytea columns or a text timestamp: pre_ok is false there).
WITH fresh AS (  -- each stored key once across the time partitions (see ingest/merge)
    INSERT INTO logintel.log_keys (dedupe_key)
    SELECT r.dedupe FROM extract_raw r
    WHERE r.pre_ok AND r.canonical IS NOT NULL
      AND octet_length(r.message) + coalesce(octet_length(r.rest), 0) <= %(max_bytes)s
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING dedupe_key
), inserted AS (
    INSERT INTO logintel.logs (ts, service, source, source_line, level, message, is_anomaly, attrs,
                               message_duration_ms, ingest_batch_id, dedupe_key, template_id)
    SELECT r.ts::timestamptz, r.service, %(source)s,
           CASE WHEN r.key BETWEEN 1 AND 2147483647 THEN r.key::int ELSE 0 END,
           r.canonical, r.message, r.is_anomaly::boolean,
           r.rest::jsonb, et.message_duration_ms, %(batch_id)s, r.dedupe, et.template_id
    FROM extract_raw r  -- each key once: _load_chunk took out a chunk's repeated keys
    LEFT JOIN extract_templates et ON et.message = r.message  -- extract._template_raw
    WHERE r.dedupe IN (SELECT f.dedupe_key FROM fresh f)
      AND r.pre_ok AND r.canonical IS NOT NULL
      AND octet_length(r.message) + coalesce(octet_length(r.rest), 0) <= %(max_bytes)s
    RETURNING 1
), checked AS (
    SELECT r.key, coalesce(r.pre_ok AND r.canonical IS NOT NULL
                           AND octet_length(r.message) + coalesce(octet_length(r.rest), 0) <= %(max_bytes)s,
                           false) AS ok
    FROM extract_raw r
)
SELECT (SELECT count(*) FROM checked WHERE ok) AS checked,
       (SELECT count(*) FROM inserted) AS loaded,
       (SELECT coalesce(array_agg(key ORDER BY key), '{}') FROM checked WHERE NOT ok) AS unchecked
