-- One digest tried (sent or failed), returning its id.
INSERT INTO logintel.alerts (run_key, channel, connection_id, groups, findings, status, error)
VALUES (%(run_key)s, %(channel)s, %(connection_id)s, %(groups)s, %(findings)s, %(status)s, %(error)s)
RETURNING id
