-- Episode verdicts on 1-minute buckets (were 5): an episode's edges are sharp, and a 15-minute
-- window let in the background lines from before and after it (episodes.py, BUCKET_MINUTES).
-- The stored history spans are counted in the new unit; the verdicts themselves are recomputed
-- by every findings run.
UPDATE logintel.anomaly_baselines SET span_buckets = span_buckets * 5;
DELETE FROM logintel.anomaly_verdicts WHERE bucket <> '-infinity';

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
      AND a.bucket = date_bin('1 minute', l.ts, TIMESTAMPTZ '2000-01-01 00:00:00+00')
      AND a.slow = coalesce(p.duration_ms > d.slow_ms, false)
      AND a.kind = CASE WHEN l.is_anomaly THEN 'false_anomaly' ELSE 'missed_anomaly' END
      AND l.is_anomaly IS NOT NULL
LEFT JOIN logintel.anomaly_verdicts t
       ON t.model_version = p.model_version AND t.service = coalesce(l.service, '')
      AND t.template_key = p.template_key AND t.host = '*' AND t.bucket = '-infinity'
      AND t.kind = CASE WHEN l.is_anomaly THEN 'false_anomaly' ELSE 'missed_anomaly' END
      AND l.is_anomaly IS NOT NULL;
