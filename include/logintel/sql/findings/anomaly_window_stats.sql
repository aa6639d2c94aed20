-- Flagged / unflagged lines per (service, template, host, bucket, slow or not) among the logs the
-- model version scored, for the buckets where any line is flagged and the `window` buckets on
-- either side (the only places an episode verdict can be made: a template's own window, or the
-- episode span around it). Bucket and window: episodes.BUCKET_MINUTES and WINDOW.
-- 'slow': beyond the template's duration limit in the history; 'recent': the lines logged since
-- the history the model was trained on (the share of lost flags is estimated from those).
WITH g AS (
    SELECT coalesce(l.service, '') AS service, p.template_key, coalesce(l.attrs ->> 'host', '') AS host,
           date_bin(make_interval(mins => %(bucket_minutes)s::integer), l.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
           coalesce(p.duration_ms > d.slow_ms, false) AS slow,
           count(*) FILTER (WHERE l.is_anomaly) AS flagged,
           count(*) FILTER (WHERE NOT l.is_anomaly) AS unflagged,
           count(*) FILTER (WHERE l.id > mv.max_log_id) AS recent
    FROM logintel.ml_predictions p
    JOIN logintel.model_versions mv ON mv.version = p.model_version
    JOIN logintel.logs l ON l.id = p.log_id
    LEFT JOIN logintel.duration_limits d
           ON d.model_version = p.model_version AND d.service = coalesce(l.service, '')
          AND d.template_key = p.template_key
    WHERE p.model_version = %(model_version)s AND l.ts IS NOT NULL AND l.is_anomaly IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
), hot AS (
    SELECT DISTINCT bucket + d * make_interval(mins => %(bucket_minutes)s::integer) AS bucket
    FROM g CROSS JOIN generate_series(-%(window)s::integer, %(window)s::integer) AS d
    WHERE flagged > 0
)
SELECT g.service, g.template_key, g.host, g.bucket, g.slow, g.flagged, g.unflagged, g.recent
FROM g JOIN hot USING (bucket)
