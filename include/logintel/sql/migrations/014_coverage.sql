-- Scoring coverage, taken after every scoring run (coverage.py): per service, the scorable logs
-- that had arrived when the run started, how many of them the run's model has scored, the oldest
-- one still unscored, and the run's scoring lag (the longest a log it scored waited since it was
-- stored). Validated by the GX coverage suite, so a stalled pipeline is a recorded failure.
CREATE TABLE IF NOT EXISTS logintel.coverage_snapshots (
    scoring_run_id      bigint NOT NULL REFERENCES logintel.scoring_runs(id) ON DELETE CASCADE,
    model_version       text NOT NULL,
    service             text NOT NULL,      -- '' when the log has none
    taken_at            timestamptz NOT NULL DEFAULT now(),
    logs                bigint NOT NULL,    -- scorable logs (timestamp, level and message present)
    scored              bigint NOT NULL,    -- of those, scored by the run's model
    unscorable          bigint NOT NULL,    -- logs without a timestamp, level or message: never scored
    oldest_unscored_at  timestamptz,        -- ingestion time of the oldest scorable log left unscored
    lag_seconds         double precision,   -- the run's longest wait between storing and scoring a log
    PRIMARY KEY (scoring_run_id, service)
);

-- The latest run's snapshot, with the figures the coverage suite checks.
CREATE OR REPLACE VIEW logintel.v_coverage_latest AS
SELECT c.service, c.model_version, c.scoring_run_id, c.taken_at, c.logs, c.scored, c.unscorable,
       CASE WHEN c.logs = 0 THEN 1.0 ELSE c.scored::float8 / c.logs END AS coverage,
       extract(epoch FROM c.taken_at - c.oldest_unscored_at)::float8 AS oldest_unscored_age_s,
       c.lag_seconds
FROM logintel.coverage_snapshots c
WHERE c.scoring_run_id = (SELECT max(scoring_run_id) FROM logintel.coverage_snapshots);
