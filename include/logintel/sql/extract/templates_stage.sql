-- The template id of each distinct message of a chunk (masked in Python once per message), for
-- merge_checked to store with the rows it inserts.
CREATE TEMP TABLE IF NOT EXISTS extract_templates (message text, template_id bigint) ON COMMIT DROP
