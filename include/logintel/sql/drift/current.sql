-- The lines one scoring run scored, per (service, template, level).
SELECT coalesce(l.service, '') AS service, p.template_key, l.level, count(*) AS lines,
       count(*) FILTER (WHERE l.is_anomaly) AS flagged, count(l.is_anomaly) AS judged
FROM logintel.ml_predictions p
JOIN logintel.logs l ON l.id = p.log_id
WHERE p.scoring_run_id = %(run_id)s
GROUP BY 1, 2, 3
