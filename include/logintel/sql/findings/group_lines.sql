-- The lines of one finding group: each finding with its log (source file and line) and the
-- prediction of the finding's model, most confident first.
SELECT f.id AS finding_id, f.log_id, l.ts, l.service, l.attrs ->> 'host' AS host, l.level, l.is_anomaly, l.message, l.source,
       l.source_line, f.kind, f.recorded_value, f.suggested_value, f.confidence::float8 AS confidence,
       f.reason, f.status, f.decided_by, f.decided_at, f.note, f.model_version, p.predicted_level,
       p.confidence::float8 AS predicted_confidence, p.anomaly_score::float8 AS anomaly_score,
       p.predicted_anomaly
FROM logintel.dq_findings f
JOIN logintel.logs l ON l.id = f.log_id
LEFT JOIN logintel.ml_predictions p ON p.log_id = f.log_id AND p.model_version = f.model_version
WHERE (f.group_id = %(group_id)s OR (f.group_id IS NULL AND logintel.finding_group_id(
           f.kind, l.service, p.template_key, f.recorded_value, f.suggested_value, l.ts) = %(group_id)s))
  AND (%(model_version)s::text IS NULL OR f.model_version = %(model_version)s::text)
ORDER BY f.confidence DESC, l.ts DESC, f.id
LIMIT %(limit)s OFFSET %(offset)s
