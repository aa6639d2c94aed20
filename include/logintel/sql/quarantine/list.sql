-- Quarantined records, newest first (reason filter as in take_for_replay), with their size.
SELECT q.id, q.batch_id, q.source, q.source_line, octet_length(q.raw) AS bytes, q.reason, q.quarantined_at,
       substring(q.raw FROM 1 FOR 120) AS raw_head
FROM logintel.logs_quarantine q
WHERE %(reason)s::text IS NULL OR strpos(lower(q.reason), lower(%(reason)s::text)) > 0
ORDER BY q.id DESC
LIMIT %(limit)s
