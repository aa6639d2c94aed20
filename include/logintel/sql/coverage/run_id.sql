-- The scoring run of a run key (the Airflow run id of a log_scoring run).
SELECT id FROM logintel.scoring_runs WHERE run_key = %(run_key)s
