-- store_reference.sql from the counts the version's scoring runs wrote (run_counts.py; used when
-- every run of the version counted): the history's lines summed per (service, template, level)
-- and per (service, length bin), instead of joining each of its predictions with its log.
WITH mv AS (
    SELECT version FROM logintel.model_versions
    WHERE version = %(model_version)s
      AND NOT EXISTS (SELECT 1 FROM logintel.drift_reference r WHERE r.model_version = %(model_version)s)
      AND NOT EXISTS (SELECT 1 FROM logintel.drift_length_reference r WHERE r.model_version = %(model_version)s)
), agg AS (
    SELECT c.service, c.template_key, c.level, c.length_bin,
           sum(c.lines) AS lines, sum(c.flagged) AS flagged, sum(c.judged) AS judged
    FROM logintel.scoring_run_counts c
    JOIN logintel.scoring_runs r ON r.id = c.scoring_run_id
    JOIN mv ON mv.version = r.model_version
    WHERE c.in_history
    GROUP BY c.service, c.template_key, c.level, c.length_bin
), counts AS (
    INSERT INTO logintel.drift_reference (model_version, service, template_key, level, lines, flagged, judged)
    SELECT mv.version, service, template_key, level, lines, flagged, judged FROM agg, mv WHERE length_bin IS NULL
)
INSERT INTO logintel.drift_length_reference (model_version, service, length_bin, lines)
SELECT mv.version, service, length_bin, lines FROM agg, mv WHERE length_bin IS NOT NULL
