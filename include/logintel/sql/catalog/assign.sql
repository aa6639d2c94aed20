-- One chunk's template ids onto its logs; the batches it touched come back to be recounted.
WITH updated AS (
    UPDATE logintel.logs l SET template_id = a.template_id
    FROM template_assign a
    WHERE l.id = a.id
    RETURNING l.ingest_batch_id
)
SELECT coalesce(array_agg(DISTINCT ingest_batch_id), '{}') FROM updated
