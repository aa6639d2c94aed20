SELECT id FROM logintel.v_prediction_checks WHERE anomaly_issue IS NOT NULL
