-- The duration a line's message reports (durations.py), kept from the moment the line is stored,
-- as its template id is: scoring read it with a regular expression on every run (about half of
-- the server's time per scoring read). NULL: not computed (a line stored before this migration,
-- or by a path that does not compute it): the scoring read computes it then, as before.
-- 'NaN': computed, the message reports none. Adding a nullable column rewrites no row.
ALTER TABLE logintel.logs ADD COLUMN IF NOT EXISTS message_duration_ms real;

-- The same duration computed on the server, for the lines stored without it: the expression of
-- durations.DURATION_RE (ASCII classes: the database's locale does not change it), held equal to
-- the Python one by tests/integration/test_bucket_features_sql.py. NULL where there is none.
CREATE OR REPLACE FUNCTION logintel.message_duration_ms(message text) RETURNS real
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (m[1]::float8 * CASE m[2] WHEN 's' THEN 1000.0 WHEN 'sec' THEN 1000.0 WHEN 'secs' THEN 1000.0
                                     WHEN 'seconds' THEN 1000.0 WHEN 'us' THEN 0.001 WHEN 'µs' THEN 0.001
                                     WHEN 'min' THEN 60000.0 ELSE 1.0 END)::real
    FROM regexp_match(message, '(?<![A-Za-z0-9_.])([0-9]+(?:\.[0-9]+)?)[ \t]?'
                               '(ms|msec|s|sec|secs|seconds|us|µs|min)(?![A-Za-z0-9_])') AS m
$$;
