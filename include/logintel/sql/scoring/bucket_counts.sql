-- The anomaly model's context counts: lines / WARN lines / ERROR+FATAL lines per service and
-- 5-minute bucket, over [t0, t1) (frames.read_logs: the selected rows' span plus one day of history
-- before it and five minutes after). Buckets count ALL logs stored in the span, not just the
-- selected rows. bucket_us: the bucket's start in microseconds since 1970 (date_bin from 2000-01-01).
SELECT coalesce(b.service, '') AS service,
       (extract(epoch FROM date_bin('5 minutes', b.ts, timestamptz '2000-01-01')) * 1000000)::int8 AS bucket_us,
       count(*) AS n,
       count(*) FILTER (WHERE b.level = 'WARN') AS n_warn,
       count(*) FILTER (WHERE b.level IN ('ERROR', 'FATAL')) AS n_error
FROM logintel.logs b
WHERE b.ts >= %(t0)s AND b.ts < %(t1)s
GROUP BY 1, 2
