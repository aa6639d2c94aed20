-- One chunk of source rows (extract_raw) straight into logs, in one statement: the rows the parsers
-- would take as they are (a known level spelling - the parsers' map from levels.py -, a message that
-- is not blank, a timestamp the source rendered in UTC (when `ts_typed`: the column is a timestamp)
-- within the parsers' years, a boolean flag, message and other columns within LOGINTEL_MAX_RECORD_BYTES) are inserted; a row whose dedupe key (its table and
-- key) is stored already is skipped: a duplicate. The keys of the other rows come back for the
-- Python checks, which give each its exact quarantine reason (every row, when python_only is set: a
-- source with bytea columns, whose bytes are decoded and checked in Python).
WITH checked AS (
    SELECT r.*, lv.level AS canonical,
           coalesce(NOT %(python_only)s::boolean AND lv.level IS NOT NULL
                    AND r.message IS NOT NULL AND r.message !~ '^\s*$'
                    AND %(ts_typed)s::boolean
                    AND CASE WHEN r.ts ~ '^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?\+00$'
                             THEN substr(r.ts, 1, 4)::int BETWEEN %(min_year)s AND %(max_year)s ELSE false END
                    AND (r.is_anomaly IS NULL OR r.is_anomaly IN ('true', 'false'))
                    AND (r.service IS NULL OR r.service !~ '^\s*$')
                    AND octet_length(r.message) + coalesce(octet_length(r.rest), 0) <= %(max_bytes)s, false) AS ok
    FROM extract_raw r
    LEFT JOIN unnest(%(spellings)s::text[], %(levels)s::text[]) AS lv(spelling, level)
           ON lv.spelling = upper(btrim(r.level, E' \t\r\n\f\v[]()<>{}'))
), fresh AS (  -- each stored key once across the time partitions (see ingest/merge)
    INSERT INTO logintel.log_keys (dedupe_key)
    SELECT c.dedupe FROM checked c WHERE c.ok
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING dedupe_key
), inserted AS (
    INSERT INTO logintel.logs (ts, service, source, source_line, level, message, is_anomaly, attrs,
                               ingest_batch_id, dedupe_key)
    SELECT DISTINCT ON (c.key) c.ts::timestamptz, c.service, %(source)s,
           CASE WHEN c.key BETWEEN 1 AND 2147483647 THEN c.key::int ELSE 0 END,
           c.canonical, c.message, c.is_anomaly::boolean,
           c.rest::jsonb, %(batch_id)s, c.dedupe
    FROM checked c
    JOIN fresh f ON f.dedupe_key = c.dedupe
    WHERE c.ok
    ORDER BY c.key
    RETURNING 1
)
SELECT (SELECT count(*) FROM checked WHERE ok) AS checked,
       (SELECT count(*) FROM inserted) AS loaded,
       (SELECT coalesce(array_agg(key ORDER BY key), '{}') FROM checked WHERE NOT ok) AS unchecked
