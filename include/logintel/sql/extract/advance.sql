-- Advance the source's watermark to the chunk's largest key and timestamp (in the chunk's transaction).
INSERT INTO logintel.extract_watermarks (source, last_key, last_ts, rows_read)
VALUES (%(source)s, %(last_key)s, %(last_ts)s, %(rows)s)
ON CONFLICT (source) DO UPDATE
SET last_key = greatest(logintel.extract_watermarks.last_key, EXCLUDED.last_key),
    last_ts = greatest(logintel.extract_watermarks.last_ts, EXCLUDED.last_ts),
    rows_read = logintel.extract_watermarks.rows_read + EXCLUDED.rows_read, updated_at = now()
