SELECT id FROM logintel.prediction_checks WHERE level_issue IS NOT NULL
