-- The length of a model version's history (the logs up to its max_log_id) in episode buckets, at
-- least 1: store_anomaly_baseline.sql's span, for the statistics training stores (history_stats.py).
SELECT greatest(1, coalesce(extract(epoch FROM max(ts) - min(ts)) / (60.0 * %(bucket_minutes)s::integer), 1))::float8
FROM logintel.logs
WHERE id <= %(max_log_id)s
