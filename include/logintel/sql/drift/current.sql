-- The lines one scoring run scored, in one pass: per (service, template, level) (length_bin NULL)
-- and per (service, log2 length bin) (template_key NULL).
SELECT coalesce(l.service, '') AS service, p.template_key, l.level,
       least(16, floor(ln(greatest(1, length(l.message))::float8) / ln(2.0)))::int AS length_bin,
       count(*) AS lines, count(*) FILTER (WHERE l.is_anomaly) AS flagged, count(l.is_anomaly) AS judged
FROM logintel.ml_predictions p
JOIN logintel.logs l ON l.id = p.log_id
WHERE p.scoring_run_id = %(run_id)s
GROUP BY GROUPING SETS ((coalesce(l.service, ''), p.template_key, l.level),
                        (coalesce(l.service, ''), least(16, floor(ln(greatest(1, length(l.message))::float8) / ln(2.0)))::int))
