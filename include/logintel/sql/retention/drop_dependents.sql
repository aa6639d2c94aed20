-- Before a partition is dropped (in the same transaction): the rows that pointed at its logs.
-- Findings are in the archive beside the logs; predictions are recomputed by scoring a re-load;
-- injected truth is evaluation data. Group decisions are kept: they have no log ids and stand
-- for new lines of their groups. The dedupe keys go, so the archive can be loaded again; the
-- template catalog keeps its templates and loses the partition's line counts.
DELETE FROM logintel.ml_predictions p USING logintel.{partition} l WHERE p.log_id = l.id;
DELETE FROM logintel.dq_findings f USING logintel.{partition} l WHERE f.log_id = l.id;
DELETE FROM logintel.injected_issues i USING logintel.{partition} l WHERE i.log_id = l.id;
DELETE FROM logintel.log_keys k USING logintel.{partition} l WHERE k.dedupe_key = l.dedupe_key;
-- the catalog's counts of the partition's batches (a batch's rows share its ingested_at: one partition)
DELETE FROM logintel.template_counts c
WHERE c.ingest_batch_id IN (SELECT DISTINCT l.ingest_batch_id FROM logintel.{partition} l);
ALTER TABLE logintel.logs DETACH PARTITION logintel.{partition};
DROP TABLE logintel.{partition}
