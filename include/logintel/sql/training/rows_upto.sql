-- The number of logs a version trained up to %(hi)s sees.
SELECT count(*) FROM logintel.logs WHERE id <= %(hi)s
