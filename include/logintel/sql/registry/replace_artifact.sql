-- A version whose artifact was rebuilt (the old file was missing or of an older format).
UPDATE logintel.model_versions
SET algorithm = %(algorithm)s, params = %(params)s, metrics = %(metrics)s, training_rows = %(training_rows)s,
    max_log_id = %(max_log_id)s, artifact_path = %(artifact_path)s, artifact_sha256 = %(sha256)s
WHERE version = %(version)s
