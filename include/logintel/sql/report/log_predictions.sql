-- Plugin: the predictions of every model version for one log, the champion's first.
SELECT p.model_version, mv.status AS model_status, p.template_key, p.predicted_level,
       p.confidence::float8 AS confidence, p.anomaly_score::float8 AS anomaly_score,
       p.predicted_anomaly, p.scoring_run_id, p.scored_at
FROM logintel.ml_predictions p
JOIN logintel.model_versions mv ON mv.version = p.model_version
WHERE p.log_id = %(log_id)s
ORDER BY (mv.status = 'champion') DESC, p.scored_at DESC, p.model_version
