-- Turn the ids GX reported as failing into findings; a finding already recorded is kept as is.
INSERT INTO logintel.dq_findings (log_id, run_key, kind, recorded_value, suggested_value, confidence,
                                  reason, model_version)
SELECT c.id, %(run_key)s, c.level_issue, c.level, c.suggested_level,
       least(1, greatest(0, c.level_confidence)), c.level_reason, c.model_version
FROM logintel.v_prediction_checks c
JOIN unnest(%(level_ids)s::bigint[]) AS f(id) USING (id)
WHERE c.level_issue IS NOT NULL
UNION ALL
SELECT c.id, %(run_key)s, c.anomaly_issue, c.is_anomaly::text, (NOT c.is_anomaly)::text,
       least(1, greatest(0, c.anomaly_confidence)), c.anomaly_reason, c.model_version
FROM logintel.v_prediction_checks c
JOIN unnest(%(anomaly_ids)s::bigint[]) AS f(id) USING (id)
WHERE c.anomaly_issue IS NOT NULL
ON CONFLICT (log_id, kind, model_version) DO NOTHING
