-- A chunk of source rows as the source sent them (text; attrs, the dedupe key, the canonical level
-- and the row checks but the size computed there), before any check of Logintel's.
CREATE TEMP TABLE IF NOT EXISTS extract_raw (
    key bigint, ts text, level text, message text, service text, is_anomaly text, host text, rest text,
    mark timestamptz, dedupe uuid, canonical text, pre_ok boolean
) ON COMMIT DROP
