-- A chunk of source rows as the source sent them (text), before any check.
CREATE TEMP TABLE IF NOT EXISTS extract_raw (
    key bigint, ts text, level text, message text, service text, is_anomaly text, host text, rest text,
    mark timestamptz, canonical text, ok boolean
) ON COMMIT DROP
