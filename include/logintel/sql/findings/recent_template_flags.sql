-- Flagged / unflagged lines per (service, template) among the logs a model version scored after
-- its history (id > max_log_id): with the history's counts, what tells an alert template that is
-- new since the history.
SELECT coalesce(l.service, '') AS service, p.template_key,
       count(*) FILTER (WHERE l.is_anomaly) AS flagged,
       count(*) FILTER (WHERE NOT l.is_anomaly) AS unflagged
FROM logintel.ml_predictions p
JOIN logintel.model_versions mv ON mv.version = p.model_version
JOIN logintel.logs l ON l.id = p.log_id
WHERE p.model_version = %(model_version)s AND l.id > mv.max_log_id AND l.is_anomaly IS NOT NULL
GROUP BY 1, 2
