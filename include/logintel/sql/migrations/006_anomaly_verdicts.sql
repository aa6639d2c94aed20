-- Anomaly verdicts: one row per (model version, service, template, host, 5-minute bucket) whose
-- lines carry a wrong anomaly flag, judged from the episode around them (episodes.py): the flagged
-- lines of the same template nearby against the template's own baseline from the history.
-- A template-wide verdict (its history is almost all flagged: an alert template) has host '*'
-- and bucket '-infinity' and applies to every line of the template.
CREATE TABLE IF NOT EXISTS logintel.anomaly_verdicts (
    model_version   text NOT NULL REFERENCES logintel.model_versions(version) ON DELETE CASCADE,
    service         text NOT NULL,   -- '' when the log has none
    template_key    text NOT NULL,
    host            text NOT NULL,   -- attrs->>'host', '' when the log has none
    bucket          timestamptz NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('missed_anomaly', 'false_anomaly')),
    confidence      real NOT NULL,
    reason          text NOT NULL,
    PRIMARY KEY (model_version, service, template_key, host, bucket, kind)
);

-- What the history of a model version (its logs up to max_log_id) says, computed once per version
-- by the first findings run (the history never changes): lines per (service, template) with and
-- without the flag, the history's length in 5-minute buckets, and each host's share of its service.
CREATE TABLE IF NOT EXISTS logintel.anomaly_baselines (
    model_version   text NOT NULL REFERENCES logintel.model_versions(version) ON DELETE CASCADE,
    service         text NOT NULL,
    template_key    text NOT NULL,
    flagged         bigint NOT NULL,
    unflagged       bigint NOT NULL,
    span_buckets    double precision NOT NULL,
    PRIMARY KEY (model_version, service, template_key)
);
CREATE TABLE IF NOT EXISTS logintel.host_shares (
    model_version   text NOT NULL REFERENCES logintel.model_versions(version) ON DELETE CASCADE,
    service         text NOT NULL,
    host            text NOT NULL,
    share           double precision NOT NULL,
    PRIMARY KEY (model_version, service, host)
);

-- The anomaly issue of a line now comes from its episode verdict, not from the line's score alone
-- (a line-level score cannot tell a flagged line from its unflagged neighbour). New columns go last.
CREATE OR REPLACE VIEW logintel.v_prediction_checks AS
SELECT l.id,
       l.level,
       l.is_anomaly,
       p.model_version,
       p.template_key,
       p.predicted_level,
       p.confidence,
       p.anomaly_score,
       p.predicted_anomaly,
       v.kind AS level_issue,
       v.suggested_level,
       v.confidence AS level_confidence,
       v.reason AS level_reason,
       CASE WHEN coalesce(a.confidence, 0) >= coalesce(t.confidence, 0) THEN a.kind ELSE t.kind END
           AS anomaly_issue,
       greatest(a.confidence, t.confidence) AS anomaly_confidence,
       CASE WHEN coalesce(a.confidence, 0) >= coalesce(t.confidence, 0) THEN a.reason ELSE t.reason END
           AS anomaly_reason
FROM logintel.ml_predictions p
JOIN logintel.findings_scope s ON s.model_version = p.model_version
JOIN logintel.logs l ON l.id = p.log_id
LEFT JOIN logintel.level_verdicts v
       ON v.model_version = p.model_version AND v.template_key = p.template_key AND v.level = l.level
LEFT JOIN logintel.anomaly_verdicts a
       ON a.model_version = p.model_version AND a.service = coalesce(l.service, '')
      AND a.template_key = p.template_key AND a.host = coalesce(l.attrs ->> 'host', '')
      AND a.bucket = date_bin('5 minutes', l.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00')
      AND a.kind = CASE WHEN l.is_anomaly THEN 'false_anomaly' ELSE 'missed_anomaly' END
      AND l.is_anomaly IS NOT NULL
LEFT JOIN logintel.anomaly_verdicts t
       ON t.model_version = p.model_version AND t.service = coalesce(l.service, '')
      AND t.template_key = p.template_key AND t.host = '*' AND t.bucket = '-infinity'
      AND t.kind = CASE WHEN l.is_anomaly THEN 'false_anomaly' ELSE 'missed_anomaly' END
      AND l.is_anomaly IS NOT NULL;
