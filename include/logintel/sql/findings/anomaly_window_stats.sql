-- Flagged / unflagged lines per (service, template, host, bucket, slow or not) among the logs the
-- model version scored, for the buckets where any line is flagged and the `window` buckets on
-- either side (the only places an episode verdict can be made: a template's own window, or the
-- episode span around it). Bucket and window: episodes.BUCKET_MINUTES and WINDOW.
-- 'slow': beyond the template's duration limit in the history; 'recent': the lines logged since
-- the history the model was trained on (the share of lost flags is estimated from those); 'level':
-- the rows are split by the lines' recorded level (an episode's lost flags are shared out by the
-- levels of its kept ones).
-- The hot buckets come first, from the flagged lines alone; consecutive hot buckets make one time
-- range, and only the logs in those ranges are counted (read through the time index), instead of
-- counting every scored log and keeping the hot buckets' counts: flags are a few percent of the
-- lines, and their windows a small part of the time.
WITH hot AS (
    SELECT DISTINCT date_bin(make_interval(mins => %(bucket_minutes)s::integer), l.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00')
                    + d * make_interval(mins => %(bucket_minutes)s::integer) AS bucket
    FROM logintel.logs l
    JOIN logintel.ml_predictions p ON p.log_id = l.id AND p.model_version = %(model_version)s
    CROSS JOIN generate_series(-%(window)s::integer, %(window)s::integer) AS d
    WHERE l.is_anomaly AND l.ts IS NOT NULL
), ranges AS (  -- runs of consecutive hot buckets
    SELECT min(bucket) AS lo, max(bucket) + make_interval(mins => %(bucket_minutes)s::integer) AS hi
    FROM (SELECT bucket, bucket - row_number() OVER (ORDER BY bucket)
                                  * make_interval(mins => %(bucket_minutes)s::integer) AS run
          FROM hot) h
    GROUP BY run
)
SELECT coalesce(l.service, '') AS service, p.template_key, coalesce(l.host, '') AS host,
       date_bin(make_interval(mins => %(bucket_minutes)s::integer), l.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
       coalesce(p.duration_ms > d.slow_ms, false) AS slow,
       count(*) FILTER (WHERE l.is_anomaly) AS flagged,
       count(*) FILTER (WHERE NOT l.is_anomaly) AS unflagged,
       count(*) FILTER (WHERE l.id > mv.max_log_id) AS recent,
       coalesce(l.level, '') AS level
FROM ranges r
CROSS JOIN LATERAL (  -- each range through the time index (OFFSET 0: not flattened into one scan of all logs)
    SELECT l.id, l.service, l.attrs ->> 'host' AS host, l.ts, l.is_anomaly, l.level FROM logintel.logs l
    WHERE l.ts >= r.lo AND l.ts < r.hi AND l.is_anomaly IS NOT NULL OFFSET 0) l
JOIN logintel.ml_predictions p ON p.log_id = l.id AND p.model_version = %(model_version)s
JOIN logintel.model_versions mv ON mv.version = p.model_version
LEFT JOIN logintel.duration_limits d
       ON d.model_version = p.model_version AND d.service = coalesce(l.service, '')
      AND d.template_key = p.template_key
GROUP BY 1, 2, 3, 4, 5, 9
