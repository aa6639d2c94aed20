-- One registered version and its artifact.
SELECT version, artifact_path, artifact_sha256 FROM logintel.model_versions WHERE version = %(version)s
