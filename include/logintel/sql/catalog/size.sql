-- How far the catalog covers the stored logs.
SELECT (SELECT count(*) FROM logintel.templates) AS templates,
       (SELECT coalesce(sum(lines), 0) FROM logintel.template_counts)::bigint AS counted_lines,
       (SELECT count(*) FROM logintel.logs WHERE template_id IS NULL) AS untemplated_logs
