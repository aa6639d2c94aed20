-- The champion's version, artifact and the last log id it trained on.
SELECT version, artifact_path, artifact_sha256, max_log_id FROM logintel.model_versions WHERE status = 'champion'
