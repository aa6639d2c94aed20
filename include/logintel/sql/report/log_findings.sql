-- Plugin: every finding about one log, of any model version.
SELECT f.id AS finding_id, f.kind, f.recorded_value, f.suggested_value,
       f.confidence::float8 AS confidence, f.reason, f.model_version, f.status, f.run_key, f.found_at
FROM logintel.dq_findings f
WHERE f.log_id = %(log_id)s
ORDER BY f.found_at DESC, f.id
