-- Level verdicts: one row per (model version, template, recorded level) that is wrong,
-- computed by the findings step from template statistics and out-of-group model probabilities.
CREATE TABLE IF NOT EXISTS logintel.level_verdicts (
    model_version   text NOT NULL REFERENCES logintel.model_versions(version) ON DELETE CASCADE,
    template_key    text NOT NULL,
    level           text NOT NULL,
    kind            text NOT NULL,
    suggested_level text NOT NULL,
    confidence      real NOT NULL,
    reason          text NOT NULL,
    PRIMARY KEY (model_version, template_key, level)
);

-- Every champion prediction beside its log; a non-null *_issue column is a finding.
-- The findings GX suite validates this view (a view, not a query asset, so GX can
-- return the failing ids).
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
JOIN logintel.model_versions mv ON mv.version = p.model_version AND mv.status = 'champion'
JOIN logintel.logs l ON l.id = p.log_id
LEFT JOIN logintel.level_verdicts v
       ON v.model_version = p.model_version AND v.template_key = p.template_key AND v.level = l.level;
