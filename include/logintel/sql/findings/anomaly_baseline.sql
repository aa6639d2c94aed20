-- The history a model version was trained on (logs up to its max_log_id that it scored): lines per
-- (service, template) with and without the flag, and how long that history is in 5-minute buckets.
WITH mv AS (
    SELECT version, max_log_id FROM logintel.model_versions WHERE version = %(model_version)s
), span AS (
    SELECT greatest(1, coalesce(extract(epoch FROM max(h.ts) - min(h.ts)) / 300.0, 1)) AS span_buckets
    FROM logintel.logs h, mv WHERE h.id <= mv.max_log_id
)
SELECT coalesce(l.service, '') AS service, p.template_key,
       count(*) FILTER (WHERE l.is_anomaly) AS flagged,
       count(*) FILTER (WHERE NOT l.is_anomaly) AS unflagged,
       span.span_buckets::float8 AS span_buckets
FROM logintel.ml_predictions p
JOIN mv ON mv.version = p.model_version
JOIN logintel.logs l ON l.id = p.log_id
CROSS JOIN span
WHERE l.id <= mv.max_log_id AND l.is_anomaly IS NOT NULL
GROUP BY 1, 2, span.span_buckets
