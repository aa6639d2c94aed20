-- A batch that loaded: its counts (read = loaded + duplicates + quarantined, checked by the table).
UPDATE logintel.ingest_batches SET status = 'done', finished_at = now(),
    read_count = %(read)s, loaded_count = %(loaded)s, duplicate_count = %(duplicates)s,
    quarantined_count = %(quarantined)s
WHERE id = %(batch_id)s
