COPY predictions_stage (log_id, template_key, predicted_level, confidence, anomaly_score, predicted_anomaly,
                       duration_ms) FROM STDIN (FORMAT binary)
