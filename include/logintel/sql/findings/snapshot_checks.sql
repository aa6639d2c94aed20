-- The findings run's snapshot of v_prediction_checks for the GX findings suite (migration 022),
-- written in the verdicts' transaction, so GX validates exactly the verdicts and scope it commits.
-- Only the predictions of a template with some verdict can have an issue: those go through the
-- view (each joined with its log and the verdicts); every other prediction is its id with no
-- issue, straight from ml_predictions (most lines: the view's joins over them found nothing).
TRUNCATE logintel.prediction_checks;
INSERT INTO logintel.prediction_checks (id, level_issue, anomaly_issue)
WITH judged AS (
    SELECT v.template_key FROM logintel.level_verdicts v JOIN logintel.findings_scope s USING (model_version)
    UNION
    SELECT a.template_key FROM logintel.anomaly_verdicts a JOIN logintel.findings_scope s USING (model_version)
)
SELECT c.id, c.level_issue, c.anomaly_issue
FROM logintel.v_prediction_checks c
WHERE c.template_key IN (SELECT template_key FROM judged)
UNION ALL
SELECT p.log_id, NULL, NULL
FROM logintel.ml_predictions p
JOIN logintel.findings_scope s ON s.model_version = p.model_version
WHERE NOT EXISTS (SELECT 1 FROM judged j WHERE j.template_key = p.template_key);
