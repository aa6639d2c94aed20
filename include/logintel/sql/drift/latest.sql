-- The latest run's drift per service (logintel drift, summary, report, the Airflow view).
SELECT scoring_run_id, model_version, service, taken_at, lines, new_service, unseen_template_share, level_psi,
       length_psi, flag_rate, reference_flag_rate, flag_rate_change, template_level_psi, template_level_worst
FROM logintel.v_drift_latest ORDER BY service
