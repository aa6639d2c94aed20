-- Report: findings per hour of the log's own timestamp (UTC) and kind.
SELECT date_trunc('hour', l.ts AT TIME ZONE 'UTC') AS hour,
       f.kind,
       count(*)                                     AS findings
FROM logintel.dq_findings f
JOIN logintel.logs l ON l.id = f.log_id
WHERE l.ts IS NOT NULL
  AND (%(model_version)s::text IS NULL OR f.model_version = %(model_version)s::text)
GROUP BY 1, 2
ORDER BY 1, 2
