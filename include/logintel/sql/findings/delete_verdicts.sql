-- Verdicts are recomputed whole: delete this version's, then COPY the new ones (one transaction).
DELETE FROM logintel.level_verdicts WHERE model_version = %(model_version)s
