CREATE TEMP TABLE IF NOT EXISTS predictions_stage (
    log_id bigint, template_key text, predicted_level text, confidence real,
    anomaly_score real, predicted_anomaly boolean, duration_ms real
) ON COMMIT DROP
