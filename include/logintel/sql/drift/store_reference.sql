-- The history's side of a model version, stored once, in one pass over its lines: lines per
-- (service, template, level) into drift_reference, per (service, log2 length bin) into
-- drift_length_reference.
WITH mv AS (
    SELECT version, max_log_id FROM logintel.model_versions WHERE version = %(model_version)s
), agg AS (
    SELECT coalesce(l.service, '') AS service, p.template_key, l.level,
           least(16, floor(ln(greatest(1, length(l.message))::float8) / ln(2.0)))::int AS length_bin,
           count(*) AS lines, count(*) FILTER (WHERE l.is_anomaly) AS flagged, count(l.is_anomaly) AS judged
    FROM logintel.ml_predictions p
    JOIN mv ON mv.version = p.model_version
    JOIN logintel.logs l ON l.id = p.log_id
    WHERE l.id <= mv.max_log_id
      AND NOT EXISTS (SELECT 1 FROM logintel.drift_reference r WHERE r.model_version = mv.version)
      AND NOT EXISTS (SELECT 1 FROM logintel.drift_length_reference r WHERE r.model_version = mv.version)
    GROUP BY GROUPING SETS ((coalesce(l.service, ''), p.template_key, l.level),
                            (coalesce(l.service, ''), least(16, floor(ln(greatest(1, length(l.message))::float8) / ln(2.0)))::int))
), counts AS (
    INSERT INTO logintel.drift_reference (model_version, service, template_key, level, lines, flagged, judged)
    SELECT mv.version, service, template_key, level, lines, flagged, judged FROM agg, mv WHERE length_bin IS NULL
)
INSERT INTO logintel.drift_length_reference (model_version, service, length_bin, lines)
SELECT mv.version, service, length_bin, lines FROM agg, mv WHERE length_bin IS NOT NULL
