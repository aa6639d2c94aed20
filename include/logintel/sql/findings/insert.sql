-- Turn the ids GX reported as failing into findings; a finding already recorded is kept as is.
-- Each finding carries its group; a line of a group someone decided on (dismissed or confirmed) is
-- filed with that decision: it stands for new lines, later runs and later model versions.
WITH new AS (
    SELECT c.id, c.level_issue AS kind, c.level AS recorded, c.suggested_level AS suggested,
           least(1, greatest(0, c.level_confidence)) AS confidence, c.level_reason AS reason, c.model_version,
           c.template_key
    FROM logintel.v_prediction_checks c
    JOIN unnest(%(level_ids)s::bigint[]) AS f(id) USING (id)
    WHERE c.level_issue IS NOT NULL
    UNION ALL
    SELECT c.id, c.anomaly_issue, c.is_anomaly::text, (NOT c.is_anomaly)::text,
           least(1, greatest(0, c.anomaly_confidence)), c.anomaly_reason, c.model_version, c.template_key
    FROM logintel.v_prediction_checks c
    JOIN unnest(%(anomaly_ids)s::bigint[]) AS f(id) USING (id)
    WHERE c.anomaly_issue IS NOT NULL
), grouped AS (
    SELECT n.*, logintel.finding_group_id(n.kind, l.service, n.template_key, n.recorded, n.suggested, l.ts) AS group_id
    FROM new n JOIN logintel.logs l ON l.id = n.id
)
INSERT INTO logintel.dq_findings (log_id, run_key, kind, recorded_value, suggested_value, confidence,
                                  reason, model_version, group_id, status, decided_by, decided_at, note)
SELECT g.id, %(run_key)s, g.kind, g.recorded, g.suggested, g.confidence, g.reason, g.model_version, g.group_id,
       coalesce(d.decision, 'open'),
       CASE WHEN d.decision <> 'open' THEN d.decided_by END,
       CASE WHEN d.decision <> 'open' THEN d.decided_at END,
       CASE WHEN d.decision <> 'open' THEN d.note END
FROM grouped g
LEFT JOIN logintel.group_decisions d ON d.group_id = g.group_id
ON CONFLICT (log_id, kind, model_version) DO NOTHING
