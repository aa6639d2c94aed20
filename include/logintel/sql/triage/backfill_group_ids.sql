-- Findings written without a group id (by older code or by hand) get theirs before a decision.
UPDATE logintel.dq_findings f
SET group_id = logintel.finding_group_id(f.kind, l.service, p.template_key, f.recorded_value, f.suggested_value, l.ts)
FROM logintel.logs l, logintel.ml_predictions p
WHERE f.group_id IS NULL AND l.id = f.log_id AND p.log_id = f.log_id AND p.model_version = f.model_version
