-- What each scoring run scored, counted while it scored (run_counts.py): per chunk, in the
-- chunk's own transaction, lines / flagged / judged per (service, template, level) (length_bin
-- NULL) and lines per (service, log2 message-length bin) (template_key and level NULL), apart for
-- the lines of the model's history (in_history). The drift snapshot reads these few thousand rows
-- instead of joining every prediction of the run with its log again (a million-row join per
-- million logs scored, twice on a model's first run). `counted`: every chunk of the run wrote its
-- counts (false for runs before this migration, and for a run that upserted a chunk another run
-- had written: those rows may be counted twice, so its drift is computed from the predictions).
ALTER TABLE logintel.scoring_runs ADD COLUMN IF NOT EXISTS counted boolean NOT NULL DEFAULT false;

CREATE TABLE IF NOT EXISTS logintel.scoring_run_counts (
    scoring_run_id    bigint NOT NULL REFERENCES logintel.scoring_runs(id) ON DELETE CASCADE,
    chunk_start       bigint NOT NULL,
    in_history        boolean NOT NULL,
    service           text NOT NULL,
    template_key      text,
    level             text,
    length_bin        smallint,
    lines             bigint NOT NULL,
    flagged           bigint NOT NULL,
    judged            bigint NOT NULL,
    first_ingested_at timestamptz,
    scored_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS scoring_run_counts_run ON logintel.scoring_run_counts (scoring_run_id);
