-- Report: recorded level -> suggested level over all stored logs (a log without a level
-- finding keeps its recorded level). Summed by recorded or by suggested level this gives
-- both distributions; the off-diagonal cells are the level findings.
WITH lf AS (
    SELECT DISTINCT ON (f.log_id) f.log_id, f.suggested_value
    FROM logintel.dq_findings f
    WHERE f.kind IN ('level_understated', 'level_overstated')
      AND (%(model_version)s::text IS NULL OR f.model_version = %(model_version)s::text)
    ORDER BY f.log_id, f.confidence DESC, f.id
)
SELECT l.level                               AS recorded,
       coalesce(lf.suggested_value, l.level)  AS suggested,
       count(*)                               AS logs
FROM logintel.logs l
LEFT JOIN lf ON lf.log_id = l.id
GROUP BY 1, 2
