-- The chronological hold-out of a challenger: the newest %(share)s of the logs stored after the
-- champion's training data (ids grow in arrival order). Returns the last id the challenger may
-- train on, the logs after the champion's data, and the hold-out logs after the cut.
WITH cut AS (
    SELECT coalesce(percentile_disc(1 - %(share)s::float8) WITHIN GROUP (ORDER BY id), %(after)s::bigint) AS id,
           count(*) AS new_logs
    FROM logintel.logs WHERE id > %(after)s
)
SELECT cut.id, cut.new_logs, (SELECT count(*) FROM logintel.logs l WHERE l.id > cut.id) AS holdout
FROM cut
