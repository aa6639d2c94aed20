COPY logintel.logs (id, ts, service, source, source_line, level, message, is_anomaly, attrs, ingest_batch_id,
                    ingested_at, dedupe_key) FROM STDIN (FORMAT binary)
