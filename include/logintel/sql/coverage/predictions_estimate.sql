-- The planner's row count of ml_predictions (every model version), for the snapshot's work_mem
-- (coverage.hash_work_mem); 0 before the table was first analyzed.
SELECT greatest(c.reltuples, 0)::float8 FROM pg_class c WHERE c.oid = 'logintel.ml_predictions'::regclass
