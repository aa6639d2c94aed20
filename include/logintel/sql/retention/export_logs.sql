-- One partition's logs as JSON lines `logintel ingest` reads back (the product's JSONL keys, attrs
-- beside them); where each line came from goes in logintel_source / logintel_source_line.
COPY (
    SELECT jsonb_strip_nulls(l.attrs || jsonb_build_object(
               'ts', l.ts, 'level', l.level, 'service', l.service, 'message', l.message,
               'is_anomaly', l.is_anomaly, 'logintel_source', l.source, 'logintel_source_line', l.source_line))::text
    FROM logintel.{partition} l
    ORDER BY l.id
) TO STDOUT
