-- The champion's version and artifact (at most one row: a unique index allows one champion).
SELECT version, artifact_path, artifact_sha256 FROM logintel.model_versions WHERE status = 'champion'
