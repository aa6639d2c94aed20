-- Triage decisions on hold-out lines (the live database): a confirmed finding is a real problem
-- the comparison counts as truth; a dismissed one is a line whose record was right.
SELECT DISTINCT ON (f.log_id, f.kind) f.log_id, f.kind, f.status, f.recorded_value, f.suggested_value
FROM logintel.dq_findings f
WHERE f.log_id > %(cut)s AND f.log_id <= %(hi)s AND f.status IN ('confirmed', 'dismissed')
ORDER BY f.log_id, f.kind, f.decided_at DESC NULLS LAST, f.id DESC
