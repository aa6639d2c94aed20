-- Alert labels: a line is flagged exactly when its id was staged in alert_ids (every other flag cleared).
UPDATE logintel.logs l SET is_anomaly = EXISTS (SELECT 1 FROM alert_ids a WHERE a.id = l.id)
