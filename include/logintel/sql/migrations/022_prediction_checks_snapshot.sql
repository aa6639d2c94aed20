-- What the GX findings suite validates: each scoped prediction's id and its two issues, written
-- once per findings run from v_prediction_checks (sql/findings/snapshot_checks.sql). GX asks a
-- table several questions (counts, nulls, the failing ids); against the view each one redid the
-- view's seven-way join. Unlogged: every findings run rewrites it, so a crash loses nothing.
CREATE UNLOGGED TABLE IF NOT EXISTS logintel.prediction_checks (
    id            bigint NOT NULL,
    level_issue   text,
    anomaly_issue text
);
