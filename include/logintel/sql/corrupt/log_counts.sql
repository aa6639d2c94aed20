-- The populations the rates are shares of: all lines, WARN-or-worse lines, flagged lines
-- (of one ingest batch when %(batch)s is set).
SELECT count(*), count(*) FILTER (WHERE level IN ('WARN', 'ERROR', 'FATAL')), count(*) FILTER (WHERE is_anomaly)
FROM logintel.logs l
WHERE %(batch)s::bigint IS NULL OR l.ingest_batch_id = %(batch)s::bigint
