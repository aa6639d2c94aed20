-- How many records are quarantined for each reason.
SELECT reason, count(*) AS records, sum(octet_length(raw)) AS bytes
FROM logintel.logs_quarantine
WHERE %(reason)s::text IS NULL OR strpos(lower(reason), lower(%(reason)s::text)) > 0
GROUP BY reason
ORDER BY count(*) DESC, reason
