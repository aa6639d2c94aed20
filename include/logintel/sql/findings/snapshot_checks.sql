-- The findings run's snapshot of v_prediction_checks for the GX findings suite (migration 022),
-- written in the verdicts' transaction, so GX validates exactly the verdicts and scope it commits.
TRUNCATE logintel.prediction_checks;
INSERT INTO logintel.prediction_checks (id, level_issue, anomaly_issue)
SELECT id, level_issue, anomaly_issue FROM logintel.v_prediction_checks;
