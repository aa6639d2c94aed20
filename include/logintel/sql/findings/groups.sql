-- Findings rolled up into what a person would fix: level findings per (template, service, recorded
-- level, suggested level) - a call site to fix; anomaly findings per (service, template, hour) - an
-- episode. A group's id (logintel.finding_group_id, stored with each finding) is stable across runs
-- and model versions, so a decision on it can stand.
-- Filters (NULL: any): model_version, kind, service, level (recorded or suggested), status (of the
-- group), since/until (the lines' time), text (in the template or a message, case-insensitive),
-- min_confidence, group_id, unalerted (only groups no alert has named yet). sort: 'impact' (lines,
-- then confidence), 'confidence' or 'recent'. total_groups: the number of groups before limit/offset.
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
      AND (%(service)s::text IS NULL OR l.service = %(service)s::text)
      AND (%(level)s::text IS NULL OR %(level)s::text IN (f.recorded_value, f.suggested_value))
      AND (%(since)s::timestamptz IS NULL OR l.ts >= %(since)s::timestamptz)
      AND (%(until)s::timestamptz IS NULL OR l.ts < %(until)s::timestamptz)
), g AS (
    SELECT group_id, kind, service, template_key, recorded_value, suggested_value, episode AS episode_start,
           count(*) AS findings, min(ts) AS first_seen, max(ts) AS last_seen,
           round(max(confidence)::numeric, 4) AS confidence,
           (array_agg(reason ORDER BY confidence DESC, id))[1] AS reason,
           (array_agg(source || ':' || source_line ORDER BY confidence DESC, id))[1:3] AS sample_lines,
           (array_agg(message ORDER BY confidence DESC, id))[1:3] AS sample_messages,
           CASE WHEN bool_and(status = 'dismissed') THEN 'dismissed'
                WHEN bool_and(status = 'confirmed') THEN 'confirmed'
                WHEN bool_or(status <> 'open') THEN 'mixed' ELSE 'open' END AS status,
           string_agg(DISTINCT model_version, ',') AS model_versions,
           bool_or(%(text)s::text IS NULL OR strpos(lower(template_key), lower(%(text)s::text)) > 0
                   OR strpos(lower(message), lower(%(text)s::text)) > 0) AS text_match
    FROM f
    GROUP BY group_id, kind, service, template_key, recorded_value, suggested_value, episode
)
SELECT g.group_id, g.kind, g.service, g.template_key, g.recorded_value, g.suggested_value, g.episode_start,
       g.findings, g.first_seen, g.last_seen, g.confidence, g.reason, g.sample_lines, g.sample_messages,
       g.status, g.model_versions, (a.group_id IS NOT NULL) AS alerted,
       count(*) OVER () AS total_groups
FROM g
LEFT JOIN logintel.alerted_groups a ON a.group_id = g.group_id
WHERE g.text_match
  AND (%(group_id)s::text IS NULL OR g.group_id = %(group_id)s::text)
  AND (%(status)s::text IS NULL OR g.status = %(status)s::text)
  AND (%(min_confidence)s::float8 IS NULL OR g.confidence >= %(min_confidence)s::float8)
  AND (NOT %(unalerted)s::boolean OR a.group_id IS NULL)
ORDER BY CASE WHEN %(sort)s::text = 'recent' THEN g.last_seen END DESC NULLS LAST,
         CASE WHEN %(sort)s::text = 'confidence' THEN g.confidence END DESC NULLS LAST,
         g.findings DESC, g.confidence DESC, g.group_id
LIMIT %(limit)s OFFSET %(offset)s
