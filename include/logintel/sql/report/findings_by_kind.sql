-- Report / plugin: findings per kind (of one model version, or of all when model_version is NULL).
SELECT f.kind,
       count(*)                                        AS findings,
       count(*) FILTER (WHERE f.status = 'open')       AS open,
       count(*) FILTER (WHERE f.status = 'confirmed')  AS confirmed,
       count(*) FILTER (WHERE f.status = 'dismissed')  AS dismissed,
       avg(f.confidence)::float8                       AS mean_confidence
FROM logintel.dq_findings f
WHERE (%(model_version)s::text IS NULL OR f.model_version = %(model_version)s::text)
GROUP BY f.kind
ORDER BY f.kind
