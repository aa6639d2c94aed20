-- The registry rows of the compared versions (jsonb as text, for COPY into the scratch database).
SELECT version, algorithm, params::text, metrics::text, training_rows, max_log_id, artifact_path, artifact_sha256
FROM logintel.model_versions WHERE version = ANY(%(versions)s)
