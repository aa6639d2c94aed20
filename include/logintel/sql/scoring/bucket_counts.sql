-- The anomaly model's context counts: lines / WARN lines / ERROR+FATAL lines per service and
-- bucket, over [t0, t1) (frames.add_bucket_columns: the selected rows' span plus one day of history
-- before it and one bucket after). Buckets count ALL logs stored in the span, not just the selected
-- rows. bucket_us: the bucket's start in microseconds since 1970 (date_bin by %(bucket)s from
-- %(origin)s: frames.BUCKET_US and its origin, so the rows' buckets computed in Python match).
SELECT coalesce(b.service, '') AS service,
       (extract(epoch FROM date_bin(%(bucket)s::interval, b.ts, %(origin)s::timestamptz)) * 1000000)::int8 AS bucket_us,
       count(*) AS n,
       count(*) FILTER (WHERE b.level = 'WARN') AS n_warn,
       count(*) FILTER (WHERE b.level IN ('ERROR', 'FATAL')) AS n_error
FROM logintel.logs b
WHERE b.ts >= %(t0)s AND b.ts < %(t1)s
GROUP BY 1, 2
