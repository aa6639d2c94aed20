-- Quarantined records to replay (reason containing `reason`, any case; NULL: all), removed from the
-- quarantine in the replay's transaction: each comes back as a log, a duplicate or a quarantine row.
DELETE FROM logintel.logs_quarantine
WHERE %(reason)s::text IS NULL OR strpos(lower(reason), lower(%(reason)s::text)) > 0
RETURNING id, source, source_line, raw, reason
