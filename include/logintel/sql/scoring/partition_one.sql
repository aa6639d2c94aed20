-- partitions.sql for one partition: the id range and number of the logs without a champion
-- prediction, by one aggregate (ntile's window sorted every id first).
WITH todo AS (
    SELECT l.id FROM logintel.logs l
    WHERE l.ts IS NOT NULL AND l.level IS NOT NULL AND l.message IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM logintel.ml_predictions p
                      WHERE p.log_id = l.id AND p.model_version = %(model_version)s)
)
SELECT 1 AS part, min(id) AS lo, max(id) AS hi, count(*) AS n FROM todo HAVING count(*) > 0
