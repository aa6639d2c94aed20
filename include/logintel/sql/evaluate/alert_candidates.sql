-- Lines an alert-label imitation may flag: every stored line with a message.
SELECT id, coalesce(service, '') AS service, message FROM logintel.logs WHERE message IS NOT NULL
