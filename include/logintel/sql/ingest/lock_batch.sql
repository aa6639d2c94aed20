-- Held by the process loading a batch for as long as its data transaction runs: a batch still
-- 'running' whose lock is free was left by a process that died.
SELECT pg_advisory_xact_lock(7412010, %(batch_id)s::int)
