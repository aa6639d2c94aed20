-- What an injection run wrote already (a run is done once).
SELECT count(*) FILTER (WHERE kind = 'level'), count(*) FILTER (WHERE kind <> 'level')
FROM logintel.injected_issues WHERE injection_run = %(run)s
