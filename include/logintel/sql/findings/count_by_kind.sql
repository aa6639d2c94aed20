-- Findings of one model version per kind.
SELECT kind, count(*) FROM logintel.dq_findings WHERE model_version = %(model_version)s
GROUP BY kind ORDER BY kind
