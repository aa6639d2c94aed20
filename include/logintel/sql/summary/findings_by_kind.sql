-- Summary: the champion's findings per kind.
SELECT f.kind, count(*) AS n FROM logintel.dq_findings f
JOIN logintel.model_versions m ON m.version = f.model_version AND m.status = 'champion'
GROUP BY f.kind ORDER BY f.kind
