-- What the staged file holds, counted before the merge: good records, records whose dedupe key is
-- stored already (or repeats inside the file), bad records, and bad records quarantined already.
SELECT count(*) FILTER (WHERE s.error IS NULL) AS good,
       count(*) FILTER (WHERE s.error IS NULL AND EXISTS (
           SELECT 1 FROM logintel.log_keys k WHERE k.dedupe_key = s.dedupe_key)) AS good_stored,
       count(*) FILTER (WHERE s.error IS NULL) - count(DISTINCT s.dedupe_key) FILTER (WHERE s.error IS NULL)
           AS good_repeated,
       count(*) FILTER (WHERE s.error IS NOT NULL) AS bad,
       count(*) FILTER (WHERE s.error IS NOT NULL AND EXISTS (
           SELECT 1 FROM logintel.logs_quarantine q
           WHERE q.source = s.source AND q.source_line = s.source_line AND md5(q.raw) = md5(s.raw))) AS bad_stored,
       count(*) FILTER (WHERE s.error IS NOT NULL)
           - count(DISTINCT (s.source, s.source_line, md5(s.raw))) FILTER (WHERE s.error IS NOT NULL) AS bad_repeated
FROM ingest_stage s
