-- The coverage of one scoring run (migration 014): logs stored before the run started count; a
-- log stored during the run is the next run's. Taken again, a run's snapshot is replaced.
INSERT INTO logintel.coverage_snapshots (scoring_run_id, model_version, service, logs, scored, unscorable,
                                         oldest_unscored_at, lag_seconds)
WITH run AS (
    SELECT id, model_version, started_at FROM logintel.scoring_runs WHERE id = %(run_id)s
)
SELECT run.id, run.model_version, coalesce(l.service, ''),
       count(*) FILTER (WHERE l.ts IS NOT NULL AND l.level IS NOT NULL AND l.message IS NOT NULL),
       count(p.log_id) FILTER (WHERE l.ts IS NOT NULL AND l.level IS NOT NULL AND l.message IS NOT NULL),
       count(*) FILTER (WHERE l.ts IS NULL OR l.level IS NULL OR l.message IS NULL),
       min(l.ingested_at) FILTER (WHERE p.log_id IS NULL AND l.ts IS NOT NULL AND l.level IS NOT NULL
                                    AND l.message IS NOT NULL),
       extract(epoch FROM max(p.scored_at - l.ingested_at) FILTER (WHERE p.scoring_run_id = run.id))::float8
FROM logintel.logs l
CROSS JOIN run
LEFT JOIN logintel.ml_predictions p ON p.log_id = l.id AND p.model_version = run.model_version
WHERE l.ingested_at <= run.started_at
GROUP BY run.id, run.model_version, 3
ON CONFLICT (scoring_run_id, service) DO UPDATE
   SET taken_at = now(), logs = EXCLUDED.logs, scored = EXCLUDED.scored, unscorable = EXCLUDED.unscorable,
       oldest_unscored_at = EXCLUDED.oldest_unscored_at, lag_seconds = EXCLUDED.lag_seconds
