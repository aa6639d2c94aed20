-- Runs left running by a DAG run that died: not finished, started over `minutes` ago, and no
-- prediction written for `minutes`. Marked failed with the reason when another run starts.
UPDATE logintel.scoring_runs r
SET status = 'failed',
    failure_reason = format('not finished and no prediction written for %%s minutes (its DAG run died or was '
                            'stopped); noticed when run %%s started', %(minutes)s::int, %(run_key)s::text)
WHERE r.status = 'running'
  AND r.run_key <> %(run_key)s
  AND r.started_at < now() - make_interval(mins => %(minutes)s::int)
  AND NOT EXISTS (SELECT 1 FROM logintel.ml_predictions p
                  WHERE p.scoring_run_id = r.id AND p.scored_at > now() - make_interval(mins => %(minutes)s::int))
RETURNING r.run_key
