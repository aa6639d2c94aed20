-- The last log id of a model version's training history.
SELECT max_log_id FROM logintel.model_versions WHERE version = %(model_version)s
