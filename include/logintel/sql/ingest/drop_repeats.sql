-- A good record whose dedupe key repeats inside the stage (counted as a duplicate already): keep
-- the first, so the merge sees each key once.
DELETE FROM ingest_stage a
USING ingest_stage b
WHERE a.error IS NULL AND b.error IS NULL AND a.dedupe_key = b.dedupe_key AND a.ctid > b.ctid
