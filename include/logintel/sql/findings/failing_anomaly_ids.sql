SELECT id FROM logintel.prediction_checks WHERE anomaly_issue IS NOT NULL
