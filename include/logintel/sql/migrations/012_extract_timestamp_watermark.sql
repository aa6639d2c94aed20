-- A source watermarked by a timestamp column (late rows inside a look-back window are read again,
-- the source's key tells them apart): the largest timestamp extracted.
ALTER TABLE logintel.extract_watermarks ADD COLUMN IF NOT EXISTS last_ts timestamptz;
