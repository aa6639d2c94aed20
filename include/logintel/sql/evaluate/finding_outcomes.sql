-- Every champion finding with its confidence and whether the injected truth says it is right
-- (level: the line's level was injected; missed_anomaly: its flag was cleared); with %(new_only)s
-- only on logs that arrived after the champion's training data.
WITH champ AS (
    SELECT version, CASE WHEN %(new_only)s THEN max_log_id ELSE 0 END AS after
    FROM logintel.model_versions WHERE status = 'champion'
)
SELECT CASE WHEN f.kind IN ('level_understated', 'level_overstated') THEN 'level' ELSE f.kind END AS family,
       f.confidence::float8 AS confidence,
       EXISTS (SELECT 1 FROM logintel.injected_issues i
               WHERE i.log_id = f.log_id
                 AND i.kind = CASE WHEN f.kind IN ('level_understated', 'level_overstated') THEN 'level'
                                   ELSE 'anomaly_flag' END) AS correct
FROM logintel.dq_findings f JOIN champ c ON f.model_version = c.version
WHERE f.log_id > c.after
