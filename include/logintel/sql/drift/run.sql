-- A scoring run's model version.
SELECT id, model_version FROM logintel.scoring_runs WHERE id = %(run_id)s
