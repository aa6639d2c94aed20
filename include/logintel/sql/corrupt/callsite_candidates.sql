-- Lines a call-site injection may demote: INFO or worse, with a message, not injected yet.
SELECT id, level, message FROM logintel.logs l
WHERE level <> 'DEBUG' AND message IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM logintel.injected_issues i WHERE i.log_id = l.id)
