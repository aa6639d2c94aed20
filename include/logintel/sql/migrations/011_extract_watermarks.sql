-- Database sources: how far each one has been extracted. Advanced in the same transaction as the
-- rows it covers, so a kill or an outage leaves it where the last committed chunk ended.
CREATE TABLE IF NOT EXISTS logintel.extract_watermarks (
    source          text PRIMARY KEY,        -- e.g. postgres://host:5432/db/public.log_entries (no credentials)
    last_key        bigint NOT NULL,         -- the largest source key extracted
    rows_read       bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
