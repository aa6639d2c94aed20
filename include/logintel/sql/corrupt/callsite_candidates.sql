-- Lines a call-site injection may demote: INFO or worse, with a message, not injected yet
-- (of one ingest batch when %(batch)s is set), with their template from the catalog (-1 / '': none yet).
SELECT l.id, l.level, l.message, coalesce(t.id, -1) AS template_id, coalesce(t.template_key, '') AS template_key
FROM logintel.logs l
LEFT JOIN logintel.templates t ON t.id = l.template_id AND t.masker_version = %(masker_version)s
WHERE level <> 'DEBUG' AND message IS NOT NULL
  AND (%(batch)s::bigint IS NULL OR l.ingest_batch_id = %(batch)s::bigint)
  AND NOT EXISTS (SELECT 1 FROM logintel.injected_issues i WHERE i.log_id = l.id)
