-- Report: what ingestion read, loaded, skipped as duplicates and quarantined (finished batches only),
-- and how many batches are still running or failed.
SELECT count(*) FILTER (WHERE status = 'done')                              AS batches,
       count(*) FILTER (WHERE status = 'running')                           AS batches_running,
       count(*) FILTER (WHERE status = 'failed')                            AS batches_failed,
       coalesce(sum(read_count) FILTER (WHERE status = 'done'), 0)          AS read,
       coalesce(sum(loaded_count) FILTER (WHERE status = 'done'), 0)        AS loaded,
       coalesce(sum(duplicate_count) FILTER (WHERE status = 'done'), 0)     AS duplicates,
       coalesce(sum(quarantined_count) FILTER (WHERE status = 'done'), 0)   AS quarantined,
       max(finished_at)                                                     AS last_batch_at
FROM logintel.ingest_batches
