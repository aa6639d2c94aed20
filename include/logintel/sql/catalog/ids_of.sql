SELECT template_key, id FROM logintel.templates
WHERE masker_version = %(masker_version)s AND template_key = ANY(%(keys)s::text[])
