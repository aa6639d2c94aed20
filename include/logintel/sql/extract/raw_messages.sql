-- The distinct messages of the rows merge_checked may insert (the others go through the Python
-- checks, which template them as they stage them).
SELECT DISTINCT message FROM extract_raw WHERE pre_ok AND canonical IS NOT NULL AND message IS NOT NULL
