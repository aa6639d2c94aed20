-- The stored history's message lengths of a model version (store_reference.sql).
SELECT service, length_bin, lines FROM logintel.drift_length_reference WHERE model_version = %(model_version)s
