-- The scratch database of a comparison: two finished batches (history, hold-out) for the copied logs.
INSERT INTO logintel.ingest_batches (id, sources, status, finished_at)
VALUES (1, ARRAY['comparison: history'], 'done', now()), (2, ARRAY['comparison: hold-out'], 'done', now());
SELECT setval('logintel.ingest_batches_id_seq', 2)
