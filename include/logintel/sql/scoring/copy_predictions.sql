-- Columns in scoring.COPY_COLUMNS order (one width in every row first: see binary_copy.py).
COPY logintel.ml_predictions (log_id, confidence, anomaly_score, predicted_anomaly, scoring_run_id, model_version,
                              predicted_level, template_key, duration_ms) FROM STDIN (FORMAT binary)
