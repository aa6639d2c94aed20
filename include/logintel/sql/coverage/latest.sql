-- The latest coverage snapshot per service (logintel summary, the report, the Airflow view).
SELECT service, model_version, scoring_run_id, taken_at, logs, scored, unscorable, coverage,
       oldest_unscored_age_s, lag_seconds
FROM logintel.v_coverage_latest ORDER BY service
