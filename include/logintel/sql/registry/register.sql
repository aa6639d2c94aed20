-- A trained version, as a candidate; registering the same version twice keeps the first.
INSERT INTO logintel.model_versions (version, algorithm, params, metrics, training_rows, max_log_id,
                                     artifact_path, artifact_sha256)
VALUES (%(version)s, %(algorithm)s, %(params)s, %(metrics)s, %(training_rows)s, %(max_log_id)s,
        %(artifact_path)s, %(sha256)s)
ON CONFLICT (version) DO NOTHING
