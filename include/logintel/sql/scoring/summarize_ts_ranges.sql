-- Summarize the block ranges of the logs' BRIN time index (each partition's) stored since the
-- last summary: a range not summarized yet matches every time range, so the scoring read's
-- bucket counts would read every new block of a partition instead of the chunk's span plus a day.
-- Autovacuum does this too, but later than the scoring run that follows an ingest.
SELECT coalesce(sum(brin_summarize_new_values(i.indexrelid::regclass)), 0)
FROM pg_inherits h
JOIN pg_index i ON i.indrelid = h.inhrelid
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am am ON am.oid = c.relam
WHERE h.inhparent = 'logintel.logs'::regclass AND am.amname = 'brin'
