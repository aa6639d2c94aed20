SELECT f.id AS finding_id, f.log_id, l.source, l.source_line, l.ts, l.service, f.kind,
       f.recorded_value, f.suggested_value, round(f.confidence::numeric, 4) AS confidence, f.reason,
       l.message, f.model_version, f.status, f.run_key
FROM logintel.dq_findings f
JOIN logintel.logs l ON l.id = f.log_id
WHERE (%(model_version)s::text IS NULL OR f.model_version = %(model_version)s::text)
  AND (%(kind)s::text IS NULL OR f.kind = %(kind)s::text)
ORDER BY f.kind, l.source, l.source_line
