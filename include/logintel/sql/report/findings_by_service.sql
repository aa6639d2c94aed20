-- Report: findings per service and kind (the 15 services with the most findings).
WITH counts AS (
    SELECT coalesce(l.service, '') AS service, f.kind, count(*) AS findings
    FROM logintel.dq_findings f
    JOIN logintel.logs l ON l.id = f.log_id
    WHERE (%(model_version)s::text IS NULL OR f.model_version = %(model_version)s::text)
    GROUP BY 1, 2
), top AS (
    SELECT service FROM counts GROUP BY service ORDER BY sum(findings) DESC, service LIMIT 15
)
SELECT c.service, c.kind, c.findings FROM counts c JOIN top USING (service) ORDER BY c.service, c.kind
