-- Confirmed triage decisions on hold-out lines become truth in the scratch database (before the
-- injection, which then leaves those lines alone); dismissed lines need no row: any finding on a
-- line without truth counts as false.
INSERT INTO logintel.injected_issues (log_id, injection_run, scheme, kind, original_level, injected_level,
                                      original_anomaly, injected_anomaly)
SELECT d.log_id, 'triage', 'triage', CASE WHEN d.kind LIKE 'level%%' THEN 'level' ELSE 'anomaly_flag' END,
       CASE WHEN d.kind LIKE 'level%%' THEN d.suggested_value END,
       CASE WHEN d.kind LIKE 'level%%' THEN d.recorded_value END,
       CASE WHEN d.kind LIKE '%%anomaly' THEN d.suggested_value::boolean END,
       CASE WHEN d.kind LIKE '%%anomaly' THEN d.recorded_value::boolean END
FROM decided d
WHERE d.status = 'confirmed' AND EXISTS (SELECT 1 FROM logintel.logs l WHERE l.id = d.log_id)
ON CONFLICT (log_id) DO NOTHING
