-- Split the logs without a champion prediction into id ranges of about equal size.
WITH todo AS (
    SELECT l.id FROM logintel.logs l
    WHERE l.ts IS NOT NULL AND l.level IS NOT NULL AND l.message IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM logintel.ml_predictions p
                      WHERE p.log_id = l.id AND p.model_version = %(model_version)s)
), tiles AS (
    SELECT id, ntile(%(partitions)s) OVER (ORDER BY id) AS part FROM todo
)
SELECT part, min(id) AS lo, max(id) AS hi, count(*) AS n FROM tiles GROUP BY part ORDER BY part
