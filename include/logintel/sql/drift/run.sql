-- A scoring run's model version, and whether it counted what it scored (run_counts.py).
SELECT id, model_version, counted FROM logintel.scoring_runs WHERE id = %(run_id)s
