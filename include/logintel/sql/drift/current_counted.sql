-- The lines one scoring run scored, from the counts it wrote per chunk (run_counts.py): the rows
-- of current.sql (template rows with length_bin NULL, length rows with template_key NULL).
SELECT service, template_key, level, length_bin, sum(lines) AS lines, sum(flagged) AS flagged,
       sum(judged) AS judged
FROM logintel.scoring_run_counts
WHERE scoring_run_id = %(run_id)s
GROUP BY service, template_key, level, length_bin
