-- The findings of one partition's logs (every column), as JSON lines.
COPY (
    SELECT row_to_json(f)::text
    FROM logintel.dq_findings f JOIN logintel.{partition} l ON l.id = f.log_id
    ORDER BY f.id
) TO STDOUT
