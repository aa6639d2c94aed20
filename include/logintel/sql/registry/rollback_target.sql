-- The champion before the current one: the `previous` of the latest promotion (by training or by
-- hand) of the current champion. Rollbacks are not followed, so each rollback is one step back.
SELECT d.previous
FROM logintel.model_decisions d
JOIN logintel.model_versions v ON v.version = d.version AND v.status = 'champion'
WHERE d.action IN ('promoted', 'manual') AND d.champion_after = d.version AND d.previous IS NOT NULL
ORDER BY d.id DESC
LIMIT 1
