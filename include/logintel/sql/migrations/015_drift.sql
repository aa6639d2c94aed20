-- Drift (drift.py): the logs a scoring run scored against the history its model was trained on.
-- The history's side is stored once per model version (it never changes); each run's figures per
-- service go to drift_snapshots and are validated by the GX suite scoring_drift.
CREATE TABLE IF NOT EXISTS logintel.drift_reference (
    model_version   text NOT NULL REFERENCES logintel.model_versions(version) ON DELETE CASCADE,
    service         text NOT NULL,
    template_key    text NOT NULL,
    level           text NOT NULL,
    lines           bigint NOT NULL,
    flagged         bigint NOT NULL,   -- lines flagged anomalous
    judged          bigint NOT NULL,   -- lines with a known anomaly flag
    PRIMARY KEY (model_version, service, template_key, level)
);
CREATE TABLE IF NOT EXISTS logintel.drift_length_reference (
    model_version   text NOT NULL REFERENCES logintel.model_versions(version) ON DELETE CASCADE,
    service         text NOT NULL,
    length_bin      integer NOT NULL,  -- floor(log2(message length)), capped at 16
    lines           bigint NOT NULL,
    PRIMARY KEY (model_version, service, length_bin)
);
CREATE TABLE IF NOT EXISTS logintel.drift_snapshots (
    scoring_run_id          bigint NOT NULL REFERENCES logintel.scoring_runs(id) ON DELETE CASCADE,
    model_version           text NOT NULL,
    service                 text NOT NULL,
    taken_at                timestamptz NOT NULL DEFAULT now(),
    lines                   bigint NOT NULL,
    new_service             boolean NOT NULL,            -- the history has no line of this service
    unseen_template_share   double precision NOT NULL,   -- lines of templates the history never had
    level_psi               double precision,            -- population stability index of the level mix
    length_psi              double precision,            -- ... of the message length (log2 bins)
    flag_rate               double precision,            -- share of lines flagged anomalous
    reference_flag_rate     double precision,
    PRIMARY KEY (scoring_run_id, service)
);

-- The latest run's drift, with the figures the drift suite checks.
CREATE OR REPLACE VIEW logintel.v_drift_latest AS
SELECT d.*, abs(d.flag_rate - d.reference_flag_rate) AS flag_rate_change
FROM logintel.drift_snapshots d
WHERE d.scoring_run_id = (SELECT max(scoring_run_id) FROM logintel.drift_snapshots);
