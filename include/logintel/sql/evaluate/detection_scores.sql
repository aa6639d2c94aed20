-- Precision and recall of the champion's findings against the injected truth.
WITH champ AS (SELECT version FROM logintel.model_versions WHERE status = 'champion'),
f AS (
    SELECT f.log_id, CASE WHEN f.kind IN ('level_understated', 'level_overstated') THEN 'level' ELSE f.kind END AS family,
           f.suggested_value
    FROM logintel.dq_findings f JOIN champ c ON f.model_version = c.version
    WHERE f.kind <> 'false_anomaly'
),
t AS (
    SELECT log_id, CASE kind WHEN 'level' THEN 'level' ELSE 'missed_anomaly' END AS family, original_level
    FROM logintel.injected_issues
),
fam AS (SELECT unnest(ARRAY['level', 'missed_anomaly']) AS family)
SELECT fam.family,
       (SELECT count(*) FROM f WHERE f.family = fam.family) AS findings,
       (SELECT count(*) FROM t WHERE t.family = fam.family) AS injected,
       (SELECT count(*) FROM f JOIN t USING (log_id, family) WHERE f.family = fam.family) AS true_positives,
       (SELECT count(*) FROM f JOIN t USING (log_id, family)
         WHERE f.family = 'level' AND fam.family = 'level' AND f.suggested_value = t.original_level) AS exact_suggestions
FROM fam
