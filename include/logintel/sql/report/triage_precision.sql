-- Report: what people decided, per kind and model version. Triage precision is
-- confirmed / (confirmed + dismissed): NULL until someone has decided one.
SELECT f.model_version, f.kind,
       count(*) FILTER (WHERE f.status = 'confirmed') AS confirmed,
       count(*) FILTER (WHERE f.status = 'dismissed') AS dismissed,
       count(*) FILTER (WHERE f.status = 'open')      AS open,
       (count(*) FILTER (WHERE f.status = 'confirmed'))::float8
           / nullif(count(*) FILTER (WHERE f.status IN ('confirmed', 'dismissed')), 0) AS precision
FROM logintel.dq_findings f
GROUP BY 1, 2
ORDER BY 1 DESC, 2
