-- The history's per-template counts of a model version, stored once (a later run reads them),
-- slow lines (beyond the template's duration limit, stored just before) apart from the others;
-- span_buckets: the history's length in the episode buckets (episodes.BUCKET_MINUTES).
INSERT INTO logintel.anomaly_baselines (model_version, service, template_key, slow, flagged, unflagged, span_buckets)
WITH mv AS (
    SELECT version, max_log_id FROM logintel.model_versions WHERE version = %(model_version)s
), span AS (
    SELECT greatest(1, coalesce(extract(epoch FROM max(h.ts) - min(h.ts)) / (60.0 * %(bucket_minutes)s::integer), 1)) AS span_buckets
    FROM logintel.logs h, mv WHERE h.id <= mv.max_log_id
)
SELECT mv.version, coalesce(l.service, ''), p.template_key, coalesce(p.duration_ms > d.slow_ms, false),
       count(*) FILTER (WHERE l.is_anomaly), count(*) FILTER (WHERE NOT l.is_anomaly), span.span_buckets
FROM logintel.ml_predictions p
JOIN mv ON mv.version = p.model_version
JOIN logintel.logs l ON l.id = p.log_id
LEFT JOIN logintel.duration_limits d
       ON d.model_version = mv.version AND d.service = coalesce(l.service, '') AND d.template_key = p.template_key
CROSS JOIN span
WHERE l.id <= mv.max_log_id AND l.is_anomaly IS NOT NULL
  -- uncorrelated: a one-time filter, so a stored history skips the joins (0.37 s at 1M) instead of filtering them
  AND NOT EXISTS (SELECT 1 FROM logintel.anomaly_baselines b WHERE b.model_version = %(model_version)s)
GROUP BY mv.version, 2, 3, 4, span.span_buckets
