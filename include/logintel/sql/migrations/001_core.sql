-- Core tables of Logintel. Safe to apply twice (IF NOT EXISTS everywhere).
CREATE SCHEMA IF NOT EXISTS logintel;

CREATE TABLE IF NOT EXISTS logintel.ingest_batches (
    id              bigserial PRIMARY KEY,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    sources         text[] NOT NULL DEFAULT '{}',
    status          text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
    read_count      bigint NOT NULL DEFAULT 0,
    loaded_count    bigint NOT NULL DEFAULT 0,
    duplicate_count bigint NOT NULL DEFAULT 0,
    quarantined_count bigint NOT NULL DEFAULT 0,
    -- Every record read is loaded, a duplicate, or quarantined: exactly.
    CONSTRAINT counts_add_up CHECK (status <> 'done' OR read_count = loaded_count + duplicate_count + quarantined_count)
);

-- Files already loaded in full: a landing-folder scan skips them by content hash.
CREATE TABLE IF NOT EXISTS logintel.ingested_files (
    sha256          text PRIMARY KEY,
    path            text NOT NULL,
    size_bytes      bigint NOT NULL,
    batch_id        bigint NOT NULL REFERENCES logintel.ingest_batches(id),
    records         bigint NOT NULL,
    ingested_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS logintel.logs (
    id              bigserial PRIMARY KEY,
    ts              timestamptz,
    service         text,
    source          text NOT NULL,
    source_line     integer NOT NULL,
    level           text,
    message         text,
    is_anomaly      boolean,
    attrs           jsonb NOT NULL DEFAULT '{}'::jsonb,
    ingest_batch_id bigint NOT NULL REFERENCES logintel.ingest_batches(id),
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    -- md5 of (ts, level, service, message, occurrence number of that content in its file)
    dedupe_key      uuid NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS logs_dedupe_key ON logintel.logs (dedupe_key);
CREATE INDEX IF NOT EXISTS logs_batch ON logintel.logs (ingest_batch_id);
CREATE INDEX IF NOT EXISTS logs_ts ON logintel.logs USING brin (ts);

CREATE TABLE IF NOT EXISTS logintel.logs_quarantine (
    id              bigserial PRIMARY KEY,
    batch_id        bigint NOT NULL REFERENCES logintel.ingest_batches(id),
    source          text NOT NULL,
    source_line     integer NOT NULL,
    raw             bytea NOT NULL,
    reason          text NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS quarantine_source_line ON logintel.logs_quarantine (source, source_line, md5(raw));

CREATE TABLE IF NOT EXISTS logintel.model_versions (
    version         text PRIMARY KEY,
    created_at      timestamptz NOT NULL DEFAULT now(),
    algorithm       text NOT NULL,
    params          jsonb NOT NULL DEFAULT '{}'::jsonb,
    metrics         jsonb NOT NULL DEFAULT '{}'::jsonb,
    training_rows   bigint NOT NULL,
    max_log_id      bigint NOT NULL,
    artifact_path   text NOT NULL,
    artifact_sha256 text NOT NULL,
    status          text NOT NULL DEFAULT 'candidate' CHECK (status IN ('candidate', 'champion', 'retired')),
    decision        text
);
-- At most one champion.
CREATE UNIQUE INDEX IF NOT EXISTS one_champion ON logintel.model_versions ((status)) WHERE status = 'champion';

CREATE TABLE IF NOT EXISTS logintel.scoring_runs (
    id              bigserial PRIMARY KEY,
    run_key         text NOT NULL UNIQUE,
    model_version   text NOT NULL REFERENCES logintel.model_versions(version),
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    scored          bigint NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS logintel.ml_predictions (
    log_id            bigint NOT NULL REFERENCES logintel.logs(id) ON DELETE CASCADE,
    model_version     text NOT NULL REFERENCES logintel.model_versions(version),
    template_key      text NOT NULL,
    predicted_level   text NOT NULL,
    confidence        real NOT NULL,
    anomaly_score     real NOT NULL,
    predicted_anomaly boolean NOT NULL,
    scoring_run_id    bigint REFERENCES logintel.scoring_runs(id),
    scored_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (log_id, model_version)
);
CREATE INDEX IF NOT EXISTS predictions_version_template ON logintel.ml_predictions (model_version, template_key);

CREATE TABLE IF NOT EXISTS logintel.dq_runs (
    id              bigserial PRIMARY KEY,
    run_key         text NOT NULL,
    suite           text NOT NULL,
    batch_ref       text,
    success         boolean NOT NULL,
    statistics      jsonb NOT NULL DEFAULT '{}'::jsonb,
    results         jsonb NOT NULL DEFAULT '[]'::jsonb,
    data_docs_path  text,
    validated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (suite, run_key)
);

CREATE TABLE IF NOT EXISTS logintel.dq_findings (
    id              bigserial PRIMARY KEY,
    log_id          bigint NOT NULL REFERENCES logintel.logs(id) ON DELETE CASCADE,
    run_key         text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('level_understated', 'level_overstated', 'missed_anomaly', 'false_anomaly')),
    recorded_value  text,
    suggested_value text,
    confidence      real NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    reason          text NOT NULL,
    model_version   text NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'dismissed')),
    found_at        timestamptz NOT NULL DEFAULT now(),
    -- A log gets one finding of a kind per model version, whatever the number of runs.
    UNIQUE (log_id, kind, model_version)
);

-- The truth of the issue simulator, so detection can be measured.
CREATE TABLE IF NOT EXISTS logintel.injected_issues (
    log_id          bigint PRIMARY KEY REFERENCES logintel.logs(id) ON DELETE CASCADE,
    injection_run   text NOT NULL,
    scheme          text NOT NULL,
    kind            text NOT NULL,
    original_level  text,
    injected_level  text,
    original_anomaly boolean,
    injected_anomaly boolean,
    injected_at     timestamptz NOT NULL DEFAULT now()
);
