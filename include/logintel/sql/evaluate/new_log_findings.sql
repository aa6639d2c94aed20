-- Logs that arrived after the champion's training data, and the champion's findings on them per kind.
WITH champ AS (SELECT version, max_log_id FROM logintel.model_versions WHERE status = 'champion')
SELECT k.kind,
       (SELECT count(*) FROM logintel.logs l, champ c WHERE l.id > c.max_log_id) AS new_logs,
       (SELECT count(*) FROM logintel.dq_findings f JOIN champ c ON f.model_version = c.version
         WHERE f.log_id > c.max_log_id AND f.kind = k.kind) AS findings
FROM unnest(%(kinds)s::text[]) AS k(kind)
