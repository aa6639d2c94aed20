-- The catalog keys of the templates a scoring read names by id.
SELECT id, template_key FROM logintel.templates WHERE id = ANY(%(ids)s::bigint[])
