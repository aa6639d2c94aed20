-- Lines an alert-label imitation may flag: every stored line with a message, with its template from
-- the catalog (-1 / '': none yet).
SELECT l.id, coalesce(l.service, '') AS service, l.message,
       coalesce(t.id, -1) AS template_id, coalesce(t.template_key, '') AS template_key
FROM logintel.logs l
LEFT JOIN logintel.templates t ON t.id = l.template_id AND t.masker_version = %(masker_version)s
WHERE l.message IS NOT NULL
