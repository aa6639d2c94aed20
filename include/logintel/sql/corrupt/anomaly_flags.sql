-- Clear the anomaly flag of a deterministic pseudo-random share of flagged lines and keep the truth
-- (of one ingest batch when %(batch)s is set: issues in newly arrived logs).
WITH pick AS (
    SELECT l.id FROM logintel.logs l
    WHERE l.is_anomaly IS TRUE
      AND (%(batch)s::bigint IS NULL OR l.ingest_batch_id = %(batch)s::bigint)
      AND NOT EXISTS (SELECT 1 FROM logintel.injected_issues i WHERE i.log_id = l.id)
    ORDER BY md5(l.id::text || ':a:' || %(seed)s::text)
    LIMIT %(n)s
), truth AS (
    INSERT INTO logintel.injected_issues (log_id, injection_run, scheme, kind, original_anomaly, injected_anomaly)
    SELECT id, %(run)s, %(scheme)s, 'anomaly_flag', true, false FROM pick
    RETURNING log_id
)
UPDATE logintel.logs l SET is_anomaly = false FROM truth t WHERE l.id = t.log_id
