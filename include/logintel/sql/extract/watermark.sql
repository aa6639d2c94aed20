-- The source's watermark (largest key, largest timestamp extracted), locked for this chunk.
SELECT last_key, last_ts FROM logintel.extract_watermarks WHERE source = %(source)s FOR UPDATE
