-- The template catalog: each distinct template key (per masker version) once, with an id that
-- every log carries from the moment it is stored (logs.template_id), so masking runs once per
-- message in the product's life. Line counts per level live in template_counts, one row per
-- (template, ingest batch, level): a batch writes only its own rows (no two loads contend for a
-- counter row) and retention removes a dropped partition's batches exactly.
CREATE TABLE IF NOT EXISTS logintel.templates (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    masker_version  integer NOT NULL,
    template_key    text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (masker_version, template_key)
);

CREATE TABLE IF NOT EXISTS logintel.template_counts (
    template_id     bigint NOT NULL REFERENCES logintel.templates (id),
    ingest_batch_id bigint NOT NULL,
    level           text NOT NULL,
    lines           bigint NOT NULL CHECK (lines > 0),
    first_seen      timestamptz NOT NULL,
    last_seen       timestamptz NOT NULL,
    PRIMARY KEY (template_id, ingest_batch_id, level)
);
CREATE INDEX IF NOT EXISTS template_counts_batch ON logintel.template_counts (ingest_batch_id);

ALTER TABLE logintel.logs ADD COLUMN IF NOT EXISTS template_id bigint;
-- The logs still to template (stored before the catalog, or by extract's server-side path): the
-- templating step finds them without a scan, and the index empties as it works.
CREATE INDEX IF NOT EXISTS logs_untemplated ON logintel.logs (id) WHERE template_id IS NULL;

-- What the UI, the report and the drift checks read: one row per template with its counts.
CREATE OR REPLACE VIEW logintel.v_template_catalog AS
SELECT t.id, t.masker_version, t.template_key,
       min(c.first_seen) AS first_seen, max(c.last_seen) AS last_seen,
       coalesce(sum(c.lines), 0)::bigint AS lines,
       coalesce(sum(c.lines) FILTER (WHERE c.level = 'DEBUG'), 0)::bigint AS n_debug,
       coalesce(sum(c.lines) FILTER (WHERE c.level = 'INFO'), 0)::bigint AS n_info,
       coalesce(sum(c.lines) FILTER (WHERE c.level = 'WARN'), 0)::bigint AS n_warn,
       coalesce(sum(c.lines) FILTER (WHERE c.level = 'ERROR'), 0)::bigint AS n_error,
       coalesce(sum(c.lines) FILTER (WHERE c.level = 'FATAL'), 0)::bigint AS n_fatal
FROM logintel.templates t
LEFT JOIN logintel.template_counts c ON c.template_id = t.id
GROUP BY t.id;
