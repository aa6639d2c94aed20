-- The upper end (95th percentile) of each template's durations among the unflagged lines of a
-- model version's history (templates with at least 20 such lines), stored once: by the first findings
-- run, just before the baseline (whose existence marks the history as done). A later line
-- beyond it is 'slow' (migration 013).
INSERT INTO logintel.duration_limits (model_version, service, template_key, slow_ms)
WITH mv AS (
    SELECT version, max_log_id FROM logintel.model_versions WHERE version = %(model_version)s
)
SELECT mv.version, coalesce(l.service, ''), p.template_key,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY p.duration_ms)
FROM logintel.ml_predictions p
JOIN mv ON mv.version = p.model_version
JOIN logintel.logs l ON l.id = p.log_id
WHERE l.id <= mv.max_log_id AND l.is_anomaly IS FALSE AND p.duration_ms IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM logintel.anomaly_baselines b WHERE b.model_version = mv.version)
GROUP BY mv.version, 2, 3
HAVING count(*) >= 20
