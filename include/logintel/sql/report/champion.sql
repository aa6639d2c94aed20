-- Report / plugin: the champion model version (at most one row).
SELECT version, created_at, algorithm, params, metrics, training_rows, max_log_id,
       artifact_sha256, decision
FROM logintel.model_versions
WHERE status = 'champion'
