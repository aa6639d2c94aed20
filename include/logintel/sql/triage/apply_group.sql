-- ... applied to every finding of the group, of every model version.
UPDATE logintel.dq_findings
SET status = %(decision)s, decided_by = %(by)s, decided_at = now(), note = %(note)s
WHERE group_id = %(group_id)s
