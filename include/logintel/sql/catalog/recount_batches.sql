-- The counts of some batches, recomputed from their stored logs (after a load or a templating
-- chunk, in its transaction, after catalog/forget_batches): exact whatever ran before, idempotent.
INSERT INTO logintel.template_counts (template_id, ingest_batch_id, level, lines, first_seen, last_seen)
SELECT template_id, ingest_batch_id, level, count(*), min(ts), max(ts)
FROM logintel.logs
WHERE ingest_batch_id = ANY(%(batch_ids)s::bigint[]) AND template_id IS NOT NULL
GROUP BY template_id, ingest_batch_id, level
