-- Lines per (template, recorded level) over every log the model version scored,
-- with the most common service of each template (the level model reads it too): counted per
-- service first (one hash aggregate), then the largest count per (template, level), ties to the
-- first service in sort order as mode() breaks them (mode() sorted every line of the version).
WITH per_service AS (
    SELECT p.template_key, l.level, coalesce(l.service, '') AS service, count(*) AS n
    FROM logintel.ml_predictions p
    JOIN logintel.logs l ON l.id = p.log_id
    WHERE p.model_version = %(model_version)s
    GROUP BY 1, 2, 3
)
SELECT template_key, level, sum(n)::bigint AS n,
       (array_agg(service ORDER BY n DESC, service))[1] AS service
FROM per_service
GROUP BY template_key, level
