-- One model version's findings on the hold-out (ids after %(cut)s) against the truth: the injected
-- issues and the confirmed triage decisions (injection_run 'triage'). Every finding of any kind
-- counts: one on a line with no known problem is a false one.
WITH f AS (
    SELECT DISTINCT f.log_id,
           CASE WHEN f.kind IN ('level_understated', 'level_overstated') THEN 'level' ELSE 'anomaly' END AS family
    FROM logintel.dq_findings f
    WHERE f.model_version = %(model_version)s AND f.log_id > %(cut)s
), t AS (
    SELECT i.log_id, CASE i.kind WHEN 'level' THEN 'level' ELSE 'anomaly' END AS family
    FROM logintel.injected_issues i WHERE i.log_id > %(cut)s
), fam AS (SELECT unnest(ARRAY['level', 'anomaly']) AS family)
SELECT fam.family,
       (SELECT count(*) FROM f WHERE f.family = fam.family) AS findings,
       (SELECT count(*) FROM t WHERE t.family = fam.family) AS truth,
       (SELECT count(*) FROM f JOIN t USING (log_id, family) WHERE f.family = fam.family) AS true_positives
FROM fam
