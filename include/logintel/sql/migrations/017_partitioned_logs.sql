-- Retention (retention.py): logintel.logs becomes a table partitioned by day of ingestion time.
--
-- Why ingested_at: it is never NULL (a NULL key could only go to a DEFAULT partition, and a DEFAULT
-- partition would forbid DETACH ... CONCURRENTLY and make every new partition scan it), it only
-- grows, so the partitions the pipeline creates ahead receive every new row and an old partition
-- never gets a late row, and "kept N days after it arrived" is a promise the pipeline can keep
-- (a backfill of old logs is not archived the day it lands). Event time (ts) fails all three.
--
-- A unique index on a partitioned table must include the partition key, so the dedupe key can no
-- longer be unique in logs itself: logintel.log_keys holds each stored key once (the merge inserts
-- there first and loads only the records whose key was new), and retention deletes the keys of
-- what it archives, so an archive can be loaded again. Foreign keys into logs would need
-- (id, ingested_at): the tables that referenced logs(id) (predictions, findings, injected truth)
-- lose that constraint and retention deletes their rows with the partition, in its transaction.
-- An existing unpartitioned table is moved over with every row and id; the views on logs are
-- recreated from their own definitions.

-- Daily partitions logintel.logs_pYYYYMMDD (UTC days) for every day in [lo, hi]; existing ones are kept.
CREATE OR REPLACE FUNCTION logintel.ensure_log_partitions(lo timestamptz, hi timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    day date := (lo AT TIME ZONE 'UTC')::date;
    last date := (hi AT TIME ZONE 'UTC')::date;
    created integer := 0;
    name text;
BEGIN
    WHILE day <= last LOOP
        name := 'logs_p' || to_char(day, 'YYYYMMDD');
        IF to_regclass('logintel.' || name) IS NULL THEN
            EXECUTE format('CREATE TABLE logintel.%I PARTITION OF logintel.logs FOR VALUES FROM (%L) TO (%L)',
                           name, (day::timestamp AT TIME ZONE 'UTC'), ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
        day := day + 1;
    END LOOP;
    RETURN created;
END $$;

CREATE TABLE IF NOT EXISTS logintel.log_keys (
    dedupe_key uuid PRIMARY KEY
);

DO $$
DECLARE
    v record;
    lo timestamptz;
BEGIN
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = 'logintel.logs'::regclass) = 'p' THEN
        RETURN;  -- partitioned already
    END IF;
    -- the views of the schema, in creation order, to recreate on the new table
    CREATE TEMP TABLE logintel_views ON COMMIT DROP AS
        SELECT c.oid, c.relname, pg_get_viewdef(c.oid) AS def
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'logintel' AND c.relkind = 'v';
    FOR v IN SELECT * FROM logintel_views ORDER BY oid DESC LOOP
        EXECUTE format('DROP VIEW IF EXISTS logintel.%I CASCADE', v.relname);
    END LOOP;
    ALTER TABLE logintel.ml_predictions DROP CONSTRAINT IF EXISTS ml_predictions_log_id_fkey;
    ALTER TABLE logintel.dq_findings DROP CONSTRAINT IF EXISTS dq_findings_log_id_fkey;
    ALTER TABLE logintel.injected_issues DROP CONSTRAINT IF EXISTS injected_issues_log_id_fkey;
    ALTER TABLE logintel.logs RENAME TO logs_unpartitioned;
    ALTER INDEX logintel.logs_pkey RENAME TO logs_unpartitioned_pkey;
    ALTER INDEX logintel.logs_dedupe_key RENAME TO logs_unpartitioned_dedupe_key;
    ALTER INDEX logintel.logs_batch RENAME TO logs_unpartitioned_batch;
    ALTER INDEX logintel.logs_ts RENAME TO logs_unpartitioned_ts;
    CREATE TABLE logintel.logs (
        id              bigint NOT NULL DEFAULT nextval('logintel.logs_id_seq'),
        ts              timestamptz,
        service         text,
        source          text NOT NULL,
        source_line     integer NOT NULL,
        level           text,
        message         text,
        is_anomaly      boolean,
        attrs           jsonb NOT NULL DEFAULT '{}'::jsonb,
        ingest_batch_id bigint NOT NULL REFERENCES logintel.ingest_batches(id),
        ingested_at     timestamptz NOT NULL DEFAULT now(),
        dedupe_key      uuid NOT NULL,  -- unique through logintel.log_keys (its only index: lookups go there)
        PRIMARY KEY (id, ingested_at)
    ) PARTITION BY RANGE (ingested_at);
    ALTER SEQUENCE logintel.logs_id_seq OWNED BY logintel.logs.id;
    CREATE INDEX logs_batch ON logintel.logs (ingest_batch_id);
    CREATE INDEX logs_ts ON logintel.logs USING brin (ts);
    SELECT coalesce(min(ingested_at), now()) INTO lo FROM logintel.logs_unpartitioned;
    PERFORM logintel.ensure_log_partitions(lo, now() + interval '3 days');
    INSERT INTO logintel.logs SELECT id, ts, service, source, source_line, level, message, is_anomaly, attrs,
                                     ingest_batch_id, ingested_at, dedupe_key
                              FROM logintel.logs_unpartitioned ORDER BY id;
    INSERT INTO logintel.log_keys SELECT dedupe_key FROM logintel.logs_unpartitioned;
    DROP TABLE logintel.logs_unpartitioned;
    FOR v IN SELECT * FROM logintel_views ORDER BY oid LOOP
        EXECUTE format('CREATE VIEW logintel.%I AS %s', v.relname, v.def);
    END LOOP;
END $$;

-- What retention archived: one row per partition, written before the drop (status archived), then
-- dropped; a failed archive or a count mismatch stays 'failed' with the reason, and its partition stays.
CREATE TABLE IF NOT EXISTS logintel.retention_archives (
    partition_name  text PRIMARY KEY,
    range_start     timestamptz NOT NULL,
    range_end       timestamptz NOT NULL,
    status          text NOT NULL CHECK (status IN ('archived', 'dropped', 'failed')),
    log_rows        bigint,
    finding_rows    bigint,
    logs_path       text,
    logs_sha256     text,
    findings_path   text,
    manifest_path   text,
    min_ts          timestamptz,
    max_ts          timestamptz,
    reason          text,
    archived_at     timestamptz NOT NULL DEFAULT now(),
    dropped_at      timestamptz
);
