-- Scoring writes predictions by the million: keep only the foreign key that protects
-- data (the log). The model version and scoring run are checked by the code that
-- starts the run, and their triggers cost as much as the inserts themselves.
ALTER TABLE logintel.ml_predictions DROP CONSTRAINT IF EXISTS ml_predictions_model_version_fkey;
ALTER TABLE logintel.ml_predictions DROP CONSTRAINT IF EXISTS ml_predictions_scoring_run_id_fkey;

-- The batches a quality run covers. The quality suite validates the view below (a table
-- asset, so GX runs its checks as SQL and never pulls the batch into Python).
CREATE TABLE IF NOT EXISTS logintel.quality_scope (
    batch_id bigint PRIMARY KEY,
    future_tolerance_minutes integer NOT NULL DEFAULT 10
);

CREATE OR REPLACE VIEW logintel.v_quality_batch AS
SELECT l.id, l.ts, l.service, l.level, l.message, l.dedupe_key,
       (l.ts > now() + make_interval(mins => s.future_tolerance_minutes)) AS ts_in_future
FROM logintel.logs l
JOIN logintel.quality_scope s ON s.batch_id = l.ingest_batch_id;
