-- Champion/challenger (challenger.py, registry.py): every decision on who is champion, with the
-- figures both versions reached on the same recent logs. A rollback reads the promotion it undoes.
CREATE TABLE IF NOT EXISTS logintel.model_decisions (
    id              bigserial PRIMARY KEY,
    decided_at      timestamptz NOT NULL DEFAULT now(),
    action          text NOT NULL CHECK (action IN ('first', 'promoted', 'kept', 'not_compared', 'rollback', 'manual')),
    version         text NOT NULL REFERENCES logintel.model_versions(version) ON DELETE CASCADE,
    previous        text REFERENCES logintel.model_versions(version) ON DELETE SET NULL,  -- the champion before
    champion_after  text NOT NULL,
    reason          text NOT NULL,
    figures         jsonb NOT NULL DEFAULT '{}'::jsonb,  -- both versions' precision/recall on the hold-out
    decided_by      text NOT NULL DEFAULT 'training'
);
CREATE INDEX IF NOT EXISTS model_decisions_version ON logintel.model_decisions (version, id);
