-- The rows that passed check_raw, staged as the parsers would stage them (dedupe key: the source's
-- key, as extract.py's Python path computes it).
INSERT INTO ingest_stage (ts, service, source, source_line, level, message, is_anomaly, attrs, dedupe_key, raw, error)
SELECT r.ts::timestamptz, r.service, %(source)s,
       CASE WHEN r.key BETWEEN 1 AND 2147483647 THEN r.key::int ELSE 0 END,
       r.canonical, r.message, r.is_anomaly::boolean,
       coalesce(r.rest::jsonb, '{}'::jsonb)
           || CASE WHEN r.host IS NOT NULL THEN jsonb_build_object('host', r.host) ELSE '{}'::jsonb END
           || jsonb_build_object('source_key', r.key),
       md5(%(source)s || chr(31) || r.key::text)::uuid, NULL, NULL
FROM extract_raw r
WHERE r.ok
