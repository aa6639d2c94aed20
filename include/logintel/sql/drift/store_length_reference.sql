-- The history's message lengths per service (log2 bins) of a model version, stored once.
INSERT INTO logintel.drift_length_reference (model_version, service, length_bin, lines)
WITH mv AS (
    SELECT version, max_log_id FROM logintel.model_versions WHERE version = %(model_version)s
)
SELECT mv.version, coalesce(l.service, ''), least(16, floor(ln(greatest(1, length(l.message))::float8) / ln(2.0)))::int, count(*)
FROM logintel.ml_predictions p
JOIN mv ON mv.version = p.model_version
JOIN logintel.logs l ON l.id = p.log_id
WHERE l.id <= mv.max_log_id
  AND NOT EXISTS (SELECT 1 FROM logintel.drift_length_reference r WHERE r.model_version = mv.version)
GROUP BY mv.version, 2, 3
