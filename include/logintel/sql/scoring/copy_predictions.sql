COPY logintel.ml_predictions (log_id, template_key, predicted_level, confidence, anomaly_score,
                              predicted_anomaly, duration_ms, model_version, scoring_run_id) FROM STDIN (FORMAT binary)
