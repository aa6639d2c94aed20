-- One partition's logs as JSON lines `logintel ingest` reads back (the product's JSONL keys, attrs
-- beside them); where each line came from goes in logintel_source / logintel_source_line. In
-- chunks of 4,096 ids per row (one network message per chunk, not per line), in id order.
SELECT string_agg(jsonb_strip_nulls(l.attrs || jsonb_build_object(
           'ts', l.ts, 'level', l.level, 'service', l.service, 'message', l.message,
           'is_anomaly', l.is_anomaly, 'logintel_source', l.source, 'logintel_source_line', l.source_line))::text,
       E'\n' ORDER BY l.id) || E'\n'
FROM logintel.{partition} l
GROUP BY l.id / 4096
ORDER BY l.id / 4096
