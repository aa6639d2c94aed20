-- Report: stored logs, their time span, services, and the quarantine table's size.
SELECT count(*)                                   AS logs,
       min(ts)                                    AS first_ts,
       max(ts)                                    AS last_ts,
       count(DISTINCT service)                    AS services,
       count(*) FILTER (WHERE is_anomaly)         AS flagged_anomalies,
       (SELECT count(*) FROM logintel.logs_quarantine) AS quarantine_rows
FROM logintel.logs
