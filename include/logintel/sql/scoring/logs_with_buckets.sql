-- Logs with id in [lo, hi] (optionally only those without a prediction from a model version;
-- every `every`-th id only, for training on a sample),
-- with the anomaly model's context features: counts of the service's lines in the row's
-- 5-minute bucket, and the service's mean counts per bucket over the same span plus one
-- day of history. Buckets count ALL logs in the span, not just the selected rows.
-- With %(corrected)s (training), a line's level is its confirmed correction where there is one.
-- attr_duration_ms: the first of the attrs keys %(duration_attrs)s holding a number of milliseconds
-- (a table source's `response_time_ms`, say); NULL when the line has none.
-- line_duration_ms: attr_duration_ms where there is one, else the duration the message reports, in
-- ms: stored with the line at ingest (logs.message_duration_ms, 'NaN' for none), or for a line
-- stored without it computed here (logintel.message_duration_ms, migration 023).
-- template_id: the line's template from the catalog (its key is looked up once per template by
-- frames.read_logs, not sent with every line; -1 for a line not
-- templated yet with this masker version: the caller masks those few).
-- ingested_us (microseconds since 1970), length_bin: what the run's counts need (run_counts.py).
-- message: only for those lines (NULL for the others: the rest of the pipeline reads keys, and
-- the messages were most of the bytes read).
WITH sel AS (
    SELECT l.id, l.ts, l.service,
           CASE WHEN %(corrected)s THEN coalesce((SELECT c.corrected_level FROM logintel.v_label_corrections c
                                                   WHERE c.log_id = l.id), l.level)
                ELSE l.level END AS level,
           l.message, l.is_anomaly, l.template_id, l.message_duration_ms,
           (extract(epoch FROM l.ingested_at) * 1000000)::int8 AS ingested_us,
           -- drift's log2 message-length bin (sql/drift/current.sql), counted while scoring
           least(16, floor(ln(greatest(1, length(l.message))::float8) / ln(2.0)))::int AS length_bin,
           CASE WHEN l.attrs ?| %(duration_attrs)s::text[] THEN (  -- the lookup only where a key is there
               SELECT a.value::real
               FROM unnest(%(duration_attrs)s::text[]) WITH ORDINALITY AS k(name, pos)
               CROSS JOIN LATERAL (SELECT l.attrs ->> k.name AS value) a
               WHERE a.value ~ '^\d{1,12}(\.\d{1,6})?$'
               ORDER BY k.pos LIMIT 1) END AS attr_duration_ms
    FROM logintel.logs l
    WHERE l.id BETWEEN %(lo)s AND %(hi)s
      AND (%(every)s = 1 OR l.id %% %(every)s = 0)  -- no modulo when every log is read: the planner
                                                    -- would take the rows for 1/200 of the range
      AND l.ts IS NOT NULL AND l.level IS NOT NULL AND l.message IS NOT NULL
      -- the chunk's scored ids as one hashed set, built once (a NULL version: none). Not NOT EXISTS:
      -- a correlated subplan, and where the statistics said ml_predictions was empty (a VACUUM
      -- after a DELETE) the planner scanned the whole table once per log while this run's writer
      -- filled it: minutes per chunk instead of a second.
      AND l.id NOT IN (SELECT p.log_id FROM logintel.ml_predictions p
                       WHERE p.model_version = %(model_version)s::text AND p.log_id BETWEEN %(lo)s AND %(hi)s)
), span AS (
    SELECT min(ts) - interval '1 day' AS t0, max(ts) + interval '5 minutes' AS t1 FROM sel
), buckets AS (
    SELECT coalesce(b.service, '') AS service, date_bin('5 minutes', b.ts, timestamptz '2000-01-01') AS bucket,
           count(*) AS n,
           count(*) FILTER (WHERE b.level = 'WARN') AS n_warn,
           count(*) FILTER (WHERE b.level IN ('ERROR', 'FATAL')) AS n_error
    FROM logintel.logs b, span
    WHERE b.ts >= span.t0 AND b.ts < span.t1
    GROUP BY 1, 2
), rates AS (
    SELECT service, avg(n)::float8 AS r_total, avg(n_warn)::float8 AS r_warn, avg(n_error)::float8 AS r_error
    FROM buckets GROUP BY service
)
SELECT sel.id, sel.ts, coalesce(sel.service, '') AS service, sel.level,
       CASE WHEN t.id IS NULL THEN sel.message END AS message, sel.is_anomaly,
       sel.attr_duration_ms, sel.ingested_us, sel.length_bin,
       coalesce(sel.attr_duration_ms,
                CASE WHEN sel.message_duration_ms IS NULL THEN logintel.message_duration_ms(sel.message)
                     WHEN sel.message_duration_ms <> 'NaN' THEN sel.message_duration_ms END) AS line_duration_ms,
       coalesce(t.id, -1) AS template_id,
       bk.n AS bucket_total, bk.n_warn AS bucket_warn, bk.n_error AS bucket_error,
       r.r_total AS svc_rate_total, r.r_warn AS svc_rate_warn, r.r_error AS svc_rate_error
FROM sel
JOIN buckets bk ON bk.service = coalesce(sel.service, '')
               AND bk.bucket = date_bin('5 minutes', sel.ts, timestamptz '2000-01-01')
JOIN rates r ON r.service = bk.service
LEFT JOIN logintel.templates t ON t.id = sel.template_id AND t.masker_version = %(masker_version)s
ORDER BY sel.id
