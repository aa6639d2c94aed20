-- Summary: what every finished ingest batch read, loaded, found duplicate and quarantined.
SELECT coalesce(sum(read_count), 0) AS read, coalesce(sum(loaded_count), 0) AS loaded,
       coalesce(sum(duplicate_count), 0) AS duplicates, coalesce(sum(quarantined_count), 0) AS quarantined,
       count(*) AS batches
FROM logintel.ingest_batches WHERE status = 'done'
