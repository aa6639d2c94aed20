-- Each host's share of its service's lines in the history of a model version, stored once.
INSERT INTO logintel.host_shares (model_version, service, host, share)
SELECT %(model_version)s, coalesce(service, ''), coalesce(attrs ->> 'host', ''),
       count(*)::float8 / sum(count(*)) OVER (PARTITION BY coalesce(service, ''))
FROM logintel.logs
WHERE id <= (SELECT max_log_id FROM logintel.model_versions WHERE version = %(model_version)s)
  AND NOT EXISTS (SELECT 1 FROM logintel.host_shares s WHERE s.model_version = %(model_version)s)
GROUP BY 2, 3
