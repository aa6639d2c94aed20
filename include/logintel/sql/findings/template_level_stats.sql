-- Lines per (template, recorded level) over every log the model version scored,
-- with the most common service of each template (the level model reads it too).
SELECT p.template_key, l.level, count(*) AS n,
       mode() WITHIN GROUP (ORDER BY coalesce(l.service, '')) AS service
FROM logintel.ml_predictions p
JOIN logintel.logs l ON l.id = p.log_id
WHERE p.model_version = %(model_version)s
GROUP BY p.template_key, l.level
