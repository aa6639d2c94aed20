-- Write the injected levels of one run into the logs (the truth stays in injected_issues).
UPDATE logintel.logs l SET level = i.injected_level FROM logintel.injected_issues i
WHERE i.log_id = l.id AND i.injection_run = %(run)s AND i.kind = 'level'
