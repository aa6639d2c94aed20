-- A promotion decision: the new status, and the decision text when there is one.
UPDATE logintel.model_versions
SET status = %(status)s, decision = coalesce(%(decision)s, decision)
WHERE version = %(version)s
