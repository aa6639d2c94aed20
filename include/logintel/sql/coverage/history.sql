-- Coverage and scoring lag per scoring run, newest first (the report's coverage over time).
SELECT c.scoring_run_id, r.run_key, max(c.taken_at) AS taken_at, sum(c.logs) AS logs, sum(c.scored) AS scored,
       CASE WHEN sum(c.logs) = 0 THEN 1.0 ELSE sum(c.scored)::float8 / sum(c.logs) END AS coverage,
       extract(epoch FROM max(c.taken_at) - min(c.oldest_unscored_at))::float8 AS oldest_unscored_age_s,
       max(c.lag_seconds) AS lag_seconds
FROM logintel.coverage_snapshots c
JOIN logintel.scoring_runs r ON r.id = c.scoring_run_id
GROUP BY c.scoring_run_id, r.run_key
ORDER BY c.scoring_run_id DESC
LIMIT %(limit)s
