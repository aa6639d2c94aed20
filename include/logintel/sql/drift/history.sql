-- Drift per scoring run, newest first: the worst service's figures (the report's drift over time).
SELECT d.scoring_run_id, r.run_key, max(d.taken_at) AS taken_at, sum(d.lines) AS lines,
       bool_or(d.new_service) AS new_service, max(d.unseen_template_share) AS unseen_template_share,
       max(d.level_psi) AS level_psi, max(d.length_psi) AS length_psi, max(d.template_level_psi) AS template_level_psi,
       max(abs(d.flag_rate - d.reference_flag_rate)) AS flag_rate_change
FROM logintel.drift_snapshots d
JOIN logintel.scoring_runs r ON r.id = d.scoring_run_id
GROUP BY d.scoring_run_id, r.run_key
ORDER BY d.scoring_run_id DESC
LIMIT %(limit)s
