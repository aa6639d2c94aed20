-- Findings rolled up into what a person would fix: level findings per (template, service, recorded
-- level, suggested level) - a call site to fix; anomaly findings per (service, template, hour) - an
-- episode. A group's id (logintel.finding_group_id, stored with each finding) is stable across runs
-- and model versions, so a decision on it can stand.
WITH f AS (
    SELECT f.id, coalesce(f.group_id, logintel.finding_group_id(f.kind, l.service, p.template_key, f.recorded_value,
                                                                f.suggested_value, l.ts)) AS group_id,
           f.log_id, f.kind, f.model_version, f.recorded_value, f.suggested_value, f.confidence,
           f.reason, f.status, p.template_key, coalesce(l.service, '') AS service, l.ts, l.message, l.source,
           l.source_line,
           CASE WHEN f.kind IN ('missed_anomaly', 'false_anomaly')
                THEN date_bin('1 hour', l.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') END AS episode
    FROM logintel.dq_findings f
    JOIN logintel.logs l ON l.id = f.log_id
    JOIN logintel.ml_predictions p ON p.log_id = f.log_id AND p.model_version = f.model_version
    WHERE (%(model_version)s::text IS NULL OR f.model_version = %(model_version)s::text)
      AND (%(kind)s::text IS NULL OR f.kind = %(kind)s::text)
)
SELECT group_id, kind, service, template_key, recorded_value, suggested_value, episode AS episode_start,
       count(*) AS findings, min(ts) AS first_seen, max(ts) AS last_seen,
       round(max(confidence)::numeric, 4) AS confidence,
       (array_agg(reason ORDER BY confidence DESC, id))[1] AS reason,
       (array_agg(source || ':' || source_line ORDER BY confidence DESC, id))[1:3] AS sample_lines,
       (array_agg(message ORDER BY confidence DESC, id))[1:3] AS sample_messages,
       CASE WHEN bool_and(status = 'dismissed') THEN 'dismissed'
            WHEN bool_and(status = 'confirmed') THEN 'confirmed'
            WHEN bool_or(status <> 'open') THEN 'mixed' ELSE 'open' END AS status,
       string_agg(DISTINCT model_version, ',') AS model_versions
FROM f
GROUP BY group_id, kind, service, template_key, recorded_value, suggested_value, episode
ORDER BY count(*) DESC, max(confidence) DESC, group_id
