-- A scoring run says whether it is running, done or failed (and why), so a run whose DAG run died
-- (a killed worker, a cancelled run) is not shown as running for ever.
ALTER TABLE logintel.scoring_runs ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'running';
ALTER TABLE logintel.scoring_runs ADD COLUMN IF NOT EXISTS failure_reason text;
UPDATE logintel.scoring_runs SET status = 'done' WHERE finished_at IS NOT NULL AND status = 'running';
DO $$ BEGIN
    ALTER TABLE logintel.scoring_runs ADD CONSTRAINT scoring_runs_status CHECK (status IN ('running', 'done', 'failed'));
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
