-- The next logs to template: none yet, or one from another masker version (with %(retemplate)s).
SELECT l.id, l.message
FROM logintel.logs l
WHERE l.id > %(after)s
  AND (l.template_id IS NULL
       OR (%(retemplate)s AND l.template_id IN (SELECT t.id FROM logintel.templates t
                                                WHERE t.masker_version <> %(masker_version)s)))
ORDER BY l.id
LIMIT %(limit)s
