-- Demote the level of a deterministic pseudo-random sample of WARN-or-worse lines and keep the truth
-- (%(n)s = rate x the number of WARN-or-worse lines; of one ingest batch when %(batch)s is set).
-- reference: ERROR->INFO (a quarter ERROR->WARN), WARN->DEBUG, FATAL->DEBUG
-- adjacent:  one step down
WITH pick AS (
    SELECT l.id, l.level
    FROM logintel.logs l
    WHERE l.level IN ('WARN', 'ERROR', 'FATAL')
      AND (%(batch)s::bigint IS NULL OR l.ingest_batch_id = %(batch)s::bigint)
      AND NOT EXISTS (SELECT 1 FROM logintel.injected_issues i WHERE i.log_id = l.id)
    ORDER BY md5(l.id::text || ':' || %(seed)s::text)
    LIMIT %(n)s
), change AS (
    SELECT id, level AS original,
           CASE WHEN %(scheme)s = 'adjacent' THEN
                    CASE level WHEN 'FATAL' THEN 'ERROR' WHEN 'ERROR' THEN 'WARN' WHEN 'WARN' THEN 'INFO' END
                ELSE
                    CASE level WHEN 'FATAL' THEN 'DEBUG' WHEN 'WARN' THEN 'DEBUG'
                               WHEN 'ERROR' THEN CASE WHEN ('x' || substr(md5(id::text || 'q'), 1, 4))::bit(16)::int %% 4 = 0
                                                      THEN 'WARN' ELSE 'INFO' END END
           END AS injected
    FROM pick
), truth AS (
    INSERT INTO logintel.injected_issues (log_id, injection_run, scheme, kind, original_level, injected_level)
    SELECT id, %(run)s, %(scheme)s, 'level', original, injected FROM change
    RETURNING log_id, injected_level
)
UPDATE logintel.logs l SET level = t.injected_level FROM truth t WHERE l.id = t.log_id
