-- The counts of some batches, before catalog/count_batches recomputes them.
DELETE FROM logintel.template_counts WHERE ingest_batch_id = ANY(%(batch_ids)s::bigint[])
