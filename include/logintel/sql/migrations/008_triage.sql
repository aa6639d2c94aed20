-- Triage: people confirm or dismiss findings, one finding or a whole group at a time.

-- The group a finding belongs to (what a person would fix): a call site at one wrong level, or one
-- template's anomaly episode (service, hour). No model version in it, so a decision outlives retraining.
CREATE OR REPLACE FUNCTION logintel.finding_group_id(kind text, service text, template_key text, recorded text,
                                                     suggested text, ts timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(md5(concat_ws('|', kind, coalesce(service, ''), template_key, recorded, suggested,
                              CASE WHEN kind IN ('missed_anomaly', 'false_anomaly')
                                   THEN extract(epoch FROM date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00'))::bigint::text
                              END)), 12)
$$;

-- A standing decision on a group: later runs (and later model versions) file new lines of a
-- dismissed group as dismissed, silently, until someone reopens it.
CREATE TABLE IF NOT EXISTS logintel.group_decisions (
    group_id        text PRIMARY KEY,
    decision        text NOT NULL CHECK (decision IN ('open', 'confirmed', 'dismissed')),
    decided_by      text NOT NULL,
    decided_at      timestamptz NOT NULL DEFAULT now(),
    note            text
);

ALTER TABLE logintel.dq_findings ADD COLUMN IF NOT EXISTS group_id text;
ALTER TABLE logintel.dq_findings ADD COLUMN IF NOT EXISTS decided_by text;
ALTER TABLE logintel.dq_findings ADD COLUMN IF NOT EXISTS decided_at timestamptz;
ALTER TABLE logintel.dq_findings ADD COLUMN IF NOT EXISTS note text;
UPDATE logintel.dq_findings f
SET group_id = logintel.finding_group_id(f.kind, l.service, p.template_key, f.recorded_value, f.suggested_value, l.ts)
FROM logintel.logs l, logintel.ml_predictions p
WHERE f.group_id IS NULL AND l.id = f.log_id AND p.log_id = f.log_id AND p.model_version = f.model_version;
CREATE INDEX IF NOT EXISTS dq_findings_group ON logintel.dq_findings (group_id);

-- Confirmed level findings are label corrections: training reads the corrected level of those
-- lines; the stored log is never overwritten.
CREATE OR REPLACE VIEW logintel.v_label_corrections AS
SELECT DISTINCT ON (f.log_id) f.log_id, f.suggested_value AS corrected_level, f.decided_by, f.decided_at
FROM logintel.dq_findings f
WHERE f.status = 'confirmed' AND f.kind IN ('level_understated', 'level_overstated')
ORDER BY f.log_id, f.decided_at DESC NULLS LAST, f.id DESC;
