-- Rows and time range of one partition, and its findings.
SELECT (SELECT count(*) FROM logintel.{partition}) AS log_rows,
       (SELECT min(ts) FROM logintel.{partition}) AS min_ts,
       (SELECT max(ts) FROM logintel.{partition}) AS max_ts,
       (SELECT count(*) FROM logintel.dq_findings f JOIN logintel.{partition} l ON l.id = f.log_id) AS finding_rows
