-- Logs with id in [lo, hi] (optionally only those without a prediction from a model version;
-- every `every`-th id only, for training on a sample): what scoring and training read of each line.
-- The anomaly model's bucket features come from sql/scoring/bucket_counts.sql over the span of
-- these rows (frames.read_logs joins them in memory: a hash of every selected row on the server
-- cost more than reading the few thousand buckets and looking them up).
-- ts_us: the time in microseconds since 1970 (an integer, not timestamp text to parse; the buckets
-- are computed from it in Python).
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
-- No ORDER BY: the caller sorts the ids (a sort of every row with its columns on the server cost more).
WITH sel AS (
    SELECT l.id, l.ts, l.service,
           CASE WHEN %(corrected)s THEN coalesce((SELECT c.corrected_level FROM logintel.v_label_corrections c
                                                   WHERE c.log_id = l.id), l.level)
                ELSE l.level END AS level,
           l.message, l.is_anomaly, l.template_id, l.message_duration_ms, l.ingested_at,
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
)
SELECT sel.id, (extract(epoch FROM sel.ts) * 1000000)::int8 AS ts_us, coalesce(sel.service, '') AS service, sel.level,
       CASE WHEN t.id IS NULL THEN sel.message END AS message, sel.is_anomaly,
       sel.attr_duration_ms, (extract(epoch FROM sel.ingested_at) * 1000000)::int8 AS ingested_us,
       -- drift's log2 message-length bin (sql/drift/current.sql), counted while scoring
       least(16, floor(ln(greatest(1, length(sel.message))::float8) / ln(2.0)))::int AS length_bin,
       coalesce(sel.attr_duration_ms,
                CASE WHEN sel.message_duration_ms IS NULL THEN logintel.message_duration_ms(sel.message)
                     WHEN sel.message_duration_ms <> 'NaN' THEN sel.message_duration_ms END) AS line_duration_ms,
       coalesce(t.id, -1) AS template_id
FROM sel
LEFT JOIN logintel.templates t ON t.id = sel.template_id AND t.masker_version = %(masker_version)s
