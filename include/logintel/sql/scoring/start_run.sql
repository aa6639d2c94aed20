-- A scoring run is created once, with the model version it scores with; a retried plan
-- step finds its run as it was (a promotion in between does not relabel it). `counted`: its
-- chunks will write their counts (run_counts.py).
WITH created AS (
    INSERT INTO logintel.scoring_runs (run_key, model_version, counted) VALUES (%(run_key)s, %(model_version)s, true)
    ON CONFLICT (run_key) DO NOTHING
    RETURNING id, model_version
)
SELECT id, model_version FROM created
UNION ALL
SELECT id, model_version FROM logintel.scoring_runs WHERE run_key = %(run_key)s
LIMIT 1
