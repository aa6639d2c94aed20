-- The latest digests tried, newest first.
SELECT id, run_key, channel, connection_id, groups, findings, status, error, created_at
FROM logintel.alerts
ORDER BY id DESC
LIMIT %(limit)s
