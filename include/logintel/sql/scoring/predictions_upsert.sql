-- One upsert per chunk: re-scoring the same logs with the same model rewrites, never duplicates.
INSERT INTO logintel.ml_predictions (log_id, model_version, template_key, predicted_level, confidence,
                                     anomaly_score, predicted_anomaly, duration_ms, scoring_run_id)
SELECT log_id, %(model_version)s, template_key, predicted_level, confidence, anomaly_score,
       predicted_anomaly, duration_ms, %(run_id)s
FROM predictions_stage
ON CONFLICT (log_id, model_version) DO UPDATE
   SET template_key = EXCLUDED.template_key, predicted_level = EXCLUDED.predicted_level,
       confidence = EXCLUDED.confidence, anomaly_score = EXCLUDED.anomaly_score,
       predicted_anomaly = EXCLUDED.predicted_anomaly, duration_ms = EXCLUDED.duration_ms,
       scoring_run_id = EXCLUDED.scoring_run_id,
       scored_at = now()
