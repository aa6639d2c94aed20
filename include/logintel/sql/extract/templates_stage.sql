-- The template id and duration of each distinct message of a chunk (masked and read in Python once
-- per message), for merge_checked to store with the rows it inserts.
CREATE TEMP TABLE IF NOT EXISTS extract_templates (message text, template_id bigint, message_duration_ms real)
    ON COMMIT DROP
