-- A run that upserted a chunk another run had written may have counted rows that run counted too:
-- its drift is computed from the predictions instead of its counts (run_counts.py).
UPDATE logintel.scoring_runs SET counted = false WHERE id = %(run_id)s
