-- logs.ingest_batch_id keeps its index but loses its foreign key: the check ran a lookup of
-- ingest_batches per inserted row (about 6 µs: 290 ms of a 50,000-row merge, the largest single
-- cost after the inserts themselves). Every log is written by `ingest.loading_batch` inside the
-- transaction of the batch it names, and a batch is only ever deleted when it loaded nothing.
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'logintel.logs'::regclass AND contype = 'f'
               AND confrelid = 'logintel.ingest_batches'::regclass LOOP
        EXECUTE format('ALTER TABLE logintel.logs DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;
