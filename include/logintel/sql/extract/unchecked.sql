-- The rows merge_checked did not take, for the Python checks (in key order).
SELECT key, ts, level, message, service, is_anomaly, host, rest, mark
FROM extract_raw
WHERE key = ANY(%(keys)s::bigint[])
ORDER BY key
