-- Why a batch failed: its transaction rolled back (the error), or its process died while it ran.
ALTER TABLE logintel.ingest_batches ADD COLUMN IF NOT EXISTS failure_reason text;
