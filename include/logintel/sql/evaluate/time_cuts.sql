-- The timestamps at which the stored logs are split into history and later batches (shares of the lines).
SELECT percentile_disc(%(fractions)s::float8[]) WITHIN GROUP (ORDER BY ts)
FROM logintel.logs WHERE ts IS NOT NULL
