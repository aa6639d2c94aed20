-- Precision and recall of the champion's findings against the injected truth; with
-- %(new_only)s only on logs that arrived after the champion's training data (id > max_log_id).
WITH champ AS (
    SELECT version, CASE WHEN %(new_only)s THEN max_log_id ELSE 0 END AS after
    FROM logintel.model_versions WHERE status = 'champion'
),
f AS (
    SELECT f.log_id, CASE WHEN f.kind IN ('level_understated', 'level_overstated') THEN 'level' ELSE f.kind END AS family,
           f.suggested_value
    FROM logintel.dq_findings f JOIN champ c ON f.model_version = c.version
    WHERE f.kind <> 'false_anomaly' AND f.log_id > c.after
),
t AS (
    SELECT i.log_id, CASE i.kind WHEN 'level' THEN 'level' ELSE 'missed_anomaly' END AS family, i.original_level
    FROM logintel.injected_issues i CROSS JOIN champ c
    WHERE i.log_id > c.after
),
fam AS (SELECT unnest(ARRAY['level', 'missed_anomaly']) AS family)
SELECT fam.family,
       (SELECT count(*) FROM f WHERE f.family = fam.family) AS findings,
       (SELECT count(*) FROM t WHERE t.family = fam.family) AS injected,
       (SELECT count(*) FROM f JOIN t USING (log_id, family) WHERE f.family = fam.family) AS true_positives,
       (SELECT count(*) FROM f JOIN t USING (log_id, family)
         WHERE f.family = 'level' AND fam.family = 'level' AND f.suggested_value = t.original_level) AS exact_suggestions
FROM fam
