-- The end of a partition's retention: dropped, or failed with the reason (then it stays).
UPDATE logintel.retention_archives
SET status = %(status)s, reason = %(reason)s, dropped_at = CASE WHEN %(status)s = 'dropped' THEN now() END
WHERE partition_name = %(name)s
