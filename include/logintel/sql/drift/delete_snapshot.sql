-- A run's drift is taken again whole.
DELETE FROM logintel.drift_snapshots WHERE scoring_run_id = %(run_id)s
