-- Report: how confident the findings are, per kind, in 0.05-wide bins (bin = its lower edge).
SELECT f.kind, least(floor(f.confidence * 20) / 20, 0.95)::float8 AS bin, count(*) AS findings
FROM logintel.dq_findings f
WHERE (%(model_version)s::text IS NULL OR f.model_version = %(model_version)s::text)
GROUP BY 1, 2
ORDER BY 1, 2
