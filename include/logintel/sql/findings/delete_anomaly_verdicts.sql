-- Anomaly verdicts are recomputed whole, like level verdicts (one transaction).
DELETE FROM logintel.anomaly_verdicts WHERE model_version = %(model_version)s
