-- Alerts: after each findings run, new open finding groups are sent once, as one digest.

-- Every digest tried, sent or not (a failing notifier is recorded here, never raised).
CREATE TABLE IF NOT EXISTS logintel.alerts (
    id              bigserial PRIMARY KEY,
    run_key         text NOT NULL,
    channel         text NOT NULL,           -- smtp or webhook
    connection_id   text NOT NULL,
    groups          integer NOT NULL CHECK (groups >= 0),
    findings        bigint NOT NULL CHECK (findings >= 0),
    status          text NOT NULL CHECK (status IN ('sent', 'failed')),
    error           text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- The groups a sent digest named: a group is alerted at most once, whatever later runs find.
CREATE TABLE IF NOT EXISTS logintel.alerted_groups (
    group_id        text PRIMARY KEY,
    alert_id        bigint NOT NULL REFERENCES logintel.alerts(id),
    alerted_at      timestamptz NOT NULL DEFAULT now()
);
