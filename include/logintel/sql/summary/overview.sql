-- Summary: stored logs, injected issues, and the champion (NULLs without one).
SELECT (SELECT count(*) FROM logintel.logs) AS logs,
       (SELECT count(*) FROM logintel.injected_issues) AS injected,
       mv.version, mv.metrics, mv.decision
FROM (SELECT 1) AS one
LEFT JOIN logintel.model_versions mv ON mv.status = 'champion'
