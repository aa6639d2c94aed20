-- The catalog's largest templates of the current masker version, with their counts per level.
SELECT id, template_key, lines, n_debug, n_info, n_warn, n_error, n_fatal, first_seen, last_seen
FROM logintel.v_template_catalog
WHERE masker_version = %(masker_version)s
ORDER BY lines DESC, id
LIMIT %(limit)s
