-- Close a run with the number of predictions it wrote (a run marked stale that did finish is done).
UPDATE logintel.scoring_runs r SET finished_at = now(), status = 'done', failure_reason = NULL,
    scored = (SELECT count(*) FROM logintel.ml_predictions p WHERE p.scoring_run_id = r.id)
WHERE id = %(run_id)s
RETURNING scored
