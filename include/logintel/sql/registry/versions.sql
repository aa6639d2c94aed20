-- Every registered version, newest first.
SELECT version, status, created_at, training_rows, max_log_id, decision
FROM logintel.model_versions
ORDER BY created_at DESC, version
