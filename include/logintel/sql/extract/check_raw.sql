-- Rows the fast path can take as they are: a known level spelling (the same map as the parsers:
-- levels.py), a message that is not blank, a timestamp the source rendered in UTC (when
-- `ts_typed`: the column is a timestamp) within the years the parsers accept, and a boolean flag.
-- Every other row goes through the Python checks, which give the exact quarantine reason.
UPDATE extract_raw r
SET canonical = lv.level,
    ok = coalesce(lv.level IS NOT NULL
                  AND r.message IS NOT NULL AND r.message !~ '^\s*$'
                  AND %(ts_typed)s::boolean
                  AND CASE WHEN r.ts ~ '^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?\+00$'
                           THEN substr(r.ts, 1, 4)::int BETWEEN %(min_year)s AND %(max_year)s ELSE false END
                  AND (r.is_anomaly IS NULL OR r.is_anomaly IN ('true', 'false'))
                  AND (r.service IS NULL OR r.service !~ '^\s*$'), false)
FROM extract_raw r2
LEFT JOIN unnest(%(spellings)s::text[], %(levels)s::text[]) AS lv(spelling, level)
       ON lv.spelling = upper(btrim(r2.level, E' \t\r\n\f\v[]()<>{}'))
WHERE r2.ctid = r.ctid
