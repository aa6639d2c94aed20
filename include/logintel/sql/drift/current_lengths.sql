-- The message lengths of the lines one scoring run scored, per service (log2 bins).
SELECT coalesce(l.service, '') AS service, least(16, floor(ln(greatest(1, length(l.message))::float8) / ln(2.0)))::int AS length_bin,
       count(*) AS lines
FROM logintel.ml_predictions p
JOIN logintel.logs l ON l.id = p.log_id
WHERE p.scoring_run_id = %(run_id)s
GROUP BY 1, 2
