-- One finding's decision (who, when, why); the group's standing decision is not changed.
UPDATE logintel.dq_findings
SET status = %(decision)s, decided_by = %(by)s, decided_at = now(), note = %(note)s
WHERE id = %(finding_id)s
RETURNING id
