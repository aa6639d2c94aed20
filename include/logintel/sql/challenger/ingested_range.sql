-- The ingestion times of the logs a comparison copies: its scratch database needs their day partitions.
SELECT min(ingested_at), max(ingested_at) FROM logintel.logs WHERE id <= %(hi)s
