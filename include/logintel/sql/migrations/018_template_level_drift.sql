-- Drift per template: the largest level-mix PSI of a service's templates (each with enough lines in
-- the run and in the history) and that template, beside the service-wide figures.
ALTER TABLE logintel.drift_snapshots ADD COLUMN IF NOT EXISTS template_level_psi double precision;
ALTER TABLE logintel.drift_snapshots ADD COLUMN IF NOT EXISTS template_level_worst text;
DROP VIEW IF EXISTS logintel.v_drift_latest;
CREATE VIEW logintel.v_drift_latest AS
SELECT d.*, abs(d.flag_rate - d.reference_flag_rate) AS flag_rate_change
FROM logintel.drift_snapshots d
WHERE d.scoring_run_id = (SELECT max(scoring_run_id) FROM logintel.drift_snapshots);
