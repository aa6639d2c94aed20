-- After the copy: the batches' counts (their CHECK), the id sequence past the copied ids, statistics.
UPDATE logintel.ingest_batches b
SET read_count = c.n, loaded_count = c.n
FROM (SELECT ingest_batch_id AS id, count(*) AS n FROM logintel.logs GROUP BY 1) c
WHERE c.id = b.id;
SELECT setval('logintel.logs_id_seq', greatest(1, (SELECT max(id) FROM logintel.logs)));
ANALYZE logintel.logs
