-- A chunk of source rows as the source sent them (text; attrs and the dedupe key built there), before any check.
CREATE TEMP TABLE IF NOT EXISTS extract_raw (
    key bigint, ts text, level text, message text, service text, is_anomaly text, host text, rest text,
    mark timestamptz, dedupe uuid
) ON COMMIT DROP
