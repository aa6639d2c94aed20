-- The newest finished ingest batch that loaded logs (the logs that arrived last).
SELECT max(id) FROM logintel.ingest_batches WHERE status = 'done' AND loaded_count > 0
