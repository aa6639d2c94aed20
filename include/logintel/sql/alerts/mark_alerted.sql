-- The groups a sent digest named; a group already named by an earlier digest keeps that one.
INSERT INTO logintel.alerted_groups (group_id, alert_id)
SELECT g, %(alert_id)s FROM unnest(%(group_ids)s::text[]) AS g
ON CONFLICT (group_id) DO NOTHING
