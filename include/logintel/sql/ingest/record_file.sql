-- A file loaded in full: the same bytes are skipped next time.
INSERT INTO logintel.ingested_files (sha256, path, size_bytes, batch_id, records)
VALUES (%(sha256)s, %(path)s, %(size_bytes)s, %(batch_id)s, %(records)s)
ON CONFLICT (sha256) DO NOTHING
