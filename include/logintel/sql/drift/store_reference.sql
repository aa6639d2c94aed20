-- The history's lines per (service, template, level) of a model version, stored once.
INSERT INTO logintel.drift_reference (model_version, service, template_key, level, lines, flagged, judged)
WITH mv AS (
    SELECT version, max_log_id FROM logintel.model_versions WHERE version = %(model_version)s
)
SELECT mv.version, coalesce(l.service, ''), p.template_key, l.level, count(*),
       count(*) FILTER (WHERE l.is_anomaly), count(l.is_anomaly)
FROM logintel.ml_predictions p
JOIN mv ON mv.version = p.model_version
JOIN logintel.logs l ON l.id = p.log_id
WHERE l.id <= mv.max_log_id
  AND NOT EXISTS (SELECT 1 FROM logintel.drift_reference r WHERE r.model_version = mv.version)
GROUP BY mv.version, 2, 3, 4
