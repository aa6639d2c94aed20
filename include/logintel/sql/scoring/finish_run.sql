-- Close a run with the number of predictions it wrote (a run marked stale that did finish is done):
-- from the counts its chunks wrote with their predictions (run_counts.py) when it counted them all,
-- else by scanning ml_predictions for its rows (no index on scoring_run_id: a scan of every version's
-- predictions, which a counted run, the usual case, does not pay).
UPDATE logintel.scoring_runs r SET finished_at = now(), status = 'done', failure_reason = NULL,
    scored = CASE WHEN r.counted
                  THEN (SELECT coalesce(sum(c.lines), 0) FROM logintel.scoring_run_counts c
                        WHERE c.scoring_run_id = r.id AND c.length_bin IS NULL)
                  ELSE (SELECT count(*) FROM logintel.ml_predictions p WHERE p.scoring_run_id = r.id) END
WHERE id = %(run_id)s
RETURNING scored
