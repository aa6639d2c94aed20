-- The findings step judges the predictions of the model version its scoring run used, not
-- whatever is champion when it runs: the version is written here (under the findings lock)
-- before the GX findings suite validates the view.
CREATE TABLE IF NOT EXISTS logintel.findings_scope (
    model_version text PRIMARY KEY REFERENCES logintel.model_versions(version) ON DELETE CASCADE
);

CREATE OR REPLACE VIEW logintel.v_prediction_checks AS
SELECT l.id,
       l.level,
       l.is_anomaly,
       p.model_version,
       p.template_key,
       p.predicted_level,
       p.confidence,
       p.anomaly_score,
       p.predicted_anomaly,
       v.kind AS level_issue,
       v.suggested_level,
       v.confidence AS level_confidence,
       v.reason AS level_reason,
       CASE
           WHEN l.is_anomaly IS FALSE AND p.predicted_anomaly THEN 'missed_anomaly'
           WHEN l.is_anomaly IS TRUE AND NOT p.predicted_anomaly
                AND p.anomaly_score < (mv.params ->> 'false_anomaly_below')::real THEN 'false_anomaly'
       END AS anomaly_issue
FROM logintel.ml_predictions p
JOIN logintel.findings_scope s ON s.model_version = p.model_version
JOIN logintel.model_versions mv ON mv.version = p.model_version
JOIN logintel.logs l ON l.id = p.log_id
LEFT JOIN logintel.level_verdicts v
       ON v.model_version = p.model_version AND v.template_key = p.template_key AND v.level = l.level;
