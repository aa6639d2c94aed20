-- Report / plugin: the most confident findings with their log, newest first among equals.
-- model_version and kind are optional filters (NULL: all).
SELECT f.id AS finding_id, f.log_id, l.ts, l.service, l.source, l.source_line, f.kind,
       f.recorded_value, f.suggested_value, f.confidence::float8 AS confidence, f.reason,
       l.message, f.model_version, f.status, f.run_key, f.found_at
FROM logintel.dq_findings f
JOIN logintel.logs l ON l.id = f.log_id
WHERE (%(model_version)s::text IS NULL OR f.model_version = %(model_version)s::text)
  AND (%(kind)s::text IS NULL OR f.kind = %(kind)s::text)
ORDER BY f.confidence DESC, l.ts DESC NULLS LAST, f.id
LIMIT %(limit)s OFFSET %(offset)s
