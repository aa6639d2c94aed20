-- Share of each host among its service's lines in the history of a model version.
SELECT coalesce(service, '') AS service, coalesce(attrs ->> 'host', '') AS host,
       count(*)::float8 / sum(count(*)) OVER (PARTITION BY coalesce(service, '')) AS share
FROM logintel.logs
WHERE id <= (SELECT max_log_id FROM logintel.model_versions WHERE version = %(model_version)s)
GROUP BY 1, 2
