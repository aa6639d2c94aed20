-- Columns in scoring.STAGE_COPY_COLUMNS order.
COPY predictions_stage (log_id, confidence, anomaly_score, predicted_anomaly, predicted_level, template_key,
                        duration_ms) FROM STDIN (FORMAT binary)
