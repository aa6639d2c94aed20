-- The stored history counts of a model version (store_anomaly_baseline.sql).
SELECT service, template_key, slow, flagged, unflagged, span_buckets
FROM logintel.anomaly_baselines WHERE model_version = %(model_version)s
