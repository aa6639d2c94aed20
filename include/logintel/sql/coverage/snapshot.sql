-- The coverage of one scoring run (migration 014): logs stored before the run started count; a
-- log stored during the run is the next run's. Taken again, a run's snapshot is replaced.
-- One pass over the logs: a log is waiting when its id is not among the model version's
-- predictions (a hashed set of ids, not a join of every log with its prediction: that join
-- carried whole log rows through a hash table and spilled them to disk). scored = logs - waiting.
-- lag_seconds: the longest a log the run scored waited from its ingest to its prediction, from the
-- counts the run wrote per chunk (run_counts.py) or, for a run that did not count, its predictions.
INSERT INTO logintel.coverage_snapshots (scoring_run_id, model_version, service, logs, scored, unscorable,
                                         oldest_unscored_at, lag_seconds)
WITH run AS (
    SELECT id, model_version, started_at, counted FROM logintel.scoring_runs WHERE id = %(run_id)s
), stored AS (
    SELECT service, count(*) FILTER (WHERE valid) AS logs, count(*) FILTER (WHERE NOT valid) AS unscorable,
           count(*) FILTER (WHERE waiting) AS waiting, min(ingested_at) FILTER (WHERE waiting) AS oldest_unscored_at
    FROM (SELECT coalesce(l.service, '') AS service, l.ingested_at,
                 l.ts IS NOT NULL AND l.level IS NOT NULL AND l.message IS NOT NULL AS valid,
                 l.ts IS NOT NULL AND l.level IS NOT NULL AND l.message IS NOT NULL
                 AND l.id NOT IN (SELECT p.log_id FROM logintel.ml_predictions p
                                  WHERE p.model_version = %(model_version)s) AS waiting
          FROM logintel.logs l, run
          WHERE l.ingested_at <= run.started_at
          OFFSET 0) per_log  -- evaluated once per log (inlined, each FILTER would test the set again)
    GROUP BY service
), counted_lag AS (
    SELECT c.service, extract(epoch FROM max(c.scored_at - c.first_ingested_at))::float8 AS lag_seconds
    FROM logintel.scoring_run_counts c, run
    WHERE c.scoring_run_id = run.id AND run.counted AND c.first_ingested_at IS NOT NULL
    GROUP BY 1
), predicted_lag AS (
    SELECT coalesce(l.service, '') AS service, extract(epoch FROM max(p.scored_at - l.ingested_at))::float8 AS lag_seconds
    FROM logintel.ml_predictions p
    JOIN run ON p.scoring_run_id = run.id AND NOT run.counted
    JOIN logintel.logs l ON l.id = p.log_id
    GROUP BY 1
)
SELECT run.id, run.model_version, s.service, s.logs, s.logs - s.waiting, s.unscorable, s.oldest_unscored_at,
       coalesce(c.lag_seconds, p.lag_seconds)
FROM stored s
CROSS JOIN run
LEFT JOIN counted_lag c ON c.service = s.service
LEFT JOIN predicted_lag p ON p.service = s.service
ON CONFLICT (scoring_run_id, service) DO UPDATE
   SET taken_at = now(), logs = EXCLUDED.logs, scored = EXCLUDED.scored, unscorable = EXCLUDED.unscorable,
       oldest_unscored_at = EXCLUDED.oldest_unscored_at, lag_seconds = EXCLUDED.lag_seconds
