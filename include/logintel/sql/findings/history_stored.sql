-- Are a model version's history statistics stored (by its training, or by its first findings run)?
-- The baseline's rows mark them stored, as in store_duration_limits.sql.
SELECT EXISTS (SELECT 1 FROM logintel.anomaly_baselines WHERE model_version = %(model_version)s)
