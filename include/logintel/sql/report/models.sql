-- Report: the latest model versions and their status.
SELECT version, created_at, algorithm, status, training_rows, decision
FROM logintel.model_versions
ORDER BY created_at DESC, version DESC
LIMIT %(limit)s
