-- The findings of one partition's logs (every column), as JSON lines in chunks (see export_logs).
SELECT string_agg(row_to_json(f)::text, E'\n' ORDER BY f.id) || E'\n'
FROM logintel.dq_findings f JOIN logintel.{partition} l ON l.id = f.log_id
GROUP BY f.id / 4096
ORDER BY f.id / 4096
