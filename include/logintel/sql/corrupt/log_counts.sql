-- The populations the rates are shares of: all lines, WARN-or-worse lines, flagged lines.
SELECT count(*), count(*) FILTER (WHERE level IN ('WARN', 'ERROR', 'FATAL')), count(*) FILTER (WHERE is_anomaly)
FROM logintel.logs
