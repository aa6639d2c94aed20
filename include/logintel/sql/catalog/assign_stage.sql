CREATE TEMP TABLE IF NOT EXISTS template_assign (id bigint, template_id bigint) ON COMMIT DROP
