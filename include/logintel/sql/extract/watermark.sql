-- The source's watermark (the largest key extracted so far), locked for this extract's chunk.
SELECT last_key FROM logintel.extract_watermarks WHERE source = %(source)s FOR UPDATE
