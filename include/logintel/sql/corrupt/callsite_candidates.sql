-- Lines a call-site injection may demote: INFO or worse, with a message, not injected yet
-- (of one ingest batch when %(batch)s is set).
SELECT id, level, message FROM logintel.logs l
WHERE level <> 'DEBUG' AND message IS NOT NULL
  AND (%(batch)s::bigint IS NULL OR l.ingest_batch_id = %(batch)s::bigint)
  AND NOT EXISTS (SELECT 1 FROM logintel.injected_issues i WHERE i.log_id = l.id)
