SELECT id FROM logintel.v_prediction_checks WHERE level_issue IS NOT NULL
