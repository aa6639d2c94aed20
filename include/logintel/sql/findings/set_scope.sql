-- The model version the findings suite judges (read by v_prediction_checks): exactly one row.
WITH cleared AS (DELETE FROM logintel.findings_scope WHERE model_version <> %(model_version)s)
INSERT INTO logintel.findings_scope (model_version) VALUES (%(model_version)s)
ON CONFLICT (model_version) DO NOTHING
