-- A group's standing decision (one row per group: the last decision wins, whole) ...
INSERT INTO logintel.group_decisions (group_id, decision, decided_by, decided_at, note)
VALUES (%(group_id)s, %(decision)s, %(by)s, now(), %(note)s)
ON CONFLICT (group_id) DO UPDATE
SET decision = EXCLUDED.decision, decided_by = EXCLUDED.decided_by, decided_at = EXCLUDED.decided_at,
    note = EXCLUDED.note
