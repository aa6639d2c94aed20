-- The stored history side of a model version (store_reference.sql).
SELECT service, template_key, level, lines, flagged, judged
FROM logintel.drift_reference WHERE model_version = %(model_version)s
