-- The rows the fast path did not take, for the Python checks (in key order).
SELECT key, ts, level, message, service, is_anomaly, host, rest, mark
FROM extract_raw
WHERE NOT ok
ORDER BY key
