-- Stored logs of one time range as JSON lines (the product's own JSONL keys; attrs kept beside them):
-- what would have arrived as a file in that period. Logs without a timestamp go with the first range.
SELECT jsonb_strip_nulls(l.attrs || jsonb_build_object('ts', l.ts, 'level', l.level, 'service', l.service,
                                                       'message', l.message, 'is_anomaly', l.is_anomaly))::text
FROM logintel.logs l
WHERE (l.ts IS NULL AND %(first)s)
   OR ((%(lo)s::timestamptz IS NULL OR l.ts >= %(lo)s::timestamptz)
       AND (%(hi)s::timestamptz IS NULL OR l.ts < %(hi)s::timestamptz))
ORDER BY l.ts NULLS FIRST, l.id
