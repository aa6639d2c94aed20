-- The duration a line reports (durations.py), kept by the scoring step, and the upper end of each
-- template's durations in a model version's history. A line beyond it is 'slow': the episode
-- verdicts count the slow and the ordinary lines of a template apart (a latency episode is the
-- same lines as always, only slower). Rows from before this migration count as ordinary.
ALTER TABLE logintel.ml_predictions ADD COLUMN IF NOT EXISTS duration_ms real;

CREATE TABLE IF NOT EXISTS logintel.duration_limits (
    model_version   text NOT NULL REFERENCES logintel.model_versions(version) ON DELETE CASCADE,
    service         text NOT NULL,
    template_key    text NOT NULL,
    slow_ms         double precision NOT NULL,  -- 95th percentile of the unflagged lines' durations
    PRIMARY KEY (model_version, service, template_key)
);

ALTER TABLE logintel.anomaly_baselines ADD COLUMN IF NOT EXISTS slow boolean NOT NULL DEFAULT false;
ALTER TABLE logintel.anomaly_baselines DROP CONSTRAINT IF EXISTS anomaly_baselines_pkey;
ALTER TABLE logintel.anomaly_baselines ADD PRIMARY KEY (model_version, service, template_key, slow);

ALTER TABLE logintel.anomaly_verdicts ADD COLUMN IF NOT EXISTS slow boolean NOT NULL DEFAULT false;
ALTER TABLE logintel.anomaly_verdicts DROP CONSTRAINT IF EXISTS anomaly_verdicts_pkey;
ALTER TABLE logintel.anomaly_verdicts ADD PRIMARY KEY (model_version, service, template_key, host, bucket, slow, kind);

-- A line's episode verdict is the one of its class (slow or not); template-wide verdicts cover both.
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
LEFT JOIN logintel.duration_limits d
       ON d.model_version = p.model_version AND d.service = coalesce(l.service, '')
      AND d.template_key = p.template_key
LEFT JOIN logintel.anomaly_verdicts a
       ON a.model_version = p.model_version AND a.service = coalesce(l.service, '')
      AND a.template_key = p.template_key AND a.host = coalesce(l.attrs ->> 'host', '')
      AND a.bucket = date_bin('5 minutes', l.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00')
      AND a.slow = coalesce(p.duration_ms > d.slow_ms, false)
      AND a.kind = CASE WHEN l.is_anomaly THEN 'false_anomaly' ELSE 'missed_anomaly' END
      AND l.is_anomaly IS NOT NULL
LEFT JOIN logintel.anomaly_verdicts t
       ON t.model_version = p.model_version AND t.service = coalesce(l.service, '')
      AND t.template_key = p.template_key AND t.host = '*' AND t.bucket = '-infinity'
      AND t.kind = CASE WHEN l.is_anomaly THEN 'false_anomaly' ELSE 'missed_anomaly' END
      AND l.is_anomaly IS NOT NULL;
