-- One chunk's dedupe keys, by position in the chunk (the records themselves stay in the loader).
CREATE TEMP TABLE IF NOT EXISTS ingest_keys (ord integer, dedupe_key uuid) ON COMMIT DROP
