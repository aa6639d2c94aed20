-- What training needs to know of a version registered already.
SELECT status, decision, metrics, artifact_path, artifact_sha256
FROM logintel.model_versions WHERE version = %(version)s
