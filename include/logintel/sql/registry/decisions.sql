-- The latest champion decisions, newest first.
SELECT id, decided_at, action, version, previous, champion_after, reason, figures, decided_by
FROM logintel.model_decisions
ORDER BY id DESC
LIMIT %(limit)s
