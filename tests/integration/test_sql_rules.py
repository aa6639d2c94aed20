"""The rules whose only home is SQL, checked on a real PostgreSQL: how `v_prediction_checks`
applies anomaly verdicts to lines, the findings scope, and the statistics behind verdicts."""
from __future__ import annotations

import json

from logintel import db
from logintel.episodes import sql_params


def _setup(conn) -> None:
    batch = conn.execute("INSERT INTO logintel.ingest_batches (status) VALUES ('running') RETURNING id").fetchone()[0]
    rows = [  # id, level, is_anomaly, service, message
        (1, "INFO", False, "api", "a"), (2, "ERROR", True, "api", "b"), (3, "ERROR", True, "api", "b"),
        (4, "WARN", None, "db", "c"), (5, "INFO", False, "db", "a"), (6, "INFO", True, "db", "a"),
    ]
    for i, level, flag, svc, msg in rows:
        conn.execute("""INSERT INTO logintel.logs (id, ts, service, source, source_line, level, message, is_anomaly,
                            ingest_batch_id, dedupe_key)
                        VALUES (%s, TIMESTAMPTZ '2026-01-05 10:02:00+00', %s, 'test', %s, %s, %s, %s, %s,
                                md5(%s::text)::uuid)""",
                     (i, svc, i, level, msg, flag, batch, i))
    for version, status in (("m1", "champion"), ("m2", "candidate")):
        conn.execute("""INSERT INTO logintel.model_versions (version, algorithm, params, training_rows, max_log_id,
                            artifact_path, artifact_sha256, status)
                        VALUES (%s, 'test', %s, 6, 6, '/nowhere', '0', %s)""",
                     (version, json.dumps({"false_anomaly_below": 0.02}), status))
    preds = [  # log_id, template_key, predicted_anomaly, anomaly_score
        (1, "a", True, 0.97),   # unflagged, predicted: missed_anomaly
        (2, "b", False, 0.01),  # flagged, not predicted, score below 0.02: false_anomaly
        (3, "b", False, 0.40),  # flagged, not predicted, but not sure enough: nothing
        (4, "c", True, 0.99),   # flag unknown: nothing
        (5, "a", False, 0.10),  # agrees: nothing
        (6, "a", True, 0.90),   # agrees: nothing
    ]
    for version in ("m1", "m2"):
        for log_id, key, pred, score in preds:
            conn.execute("""INSERT INTO logintel.ml_predictions (log_id, model_version, template_key, predicted_level,
                                confidence, anomaly_score, predicted_anomaly)
                            VALUES (%s, %s, %s, 'INFO', 0.9, %s, %s)""", (log_id, version, key, score, pred))


def _verdict(conn, version: str, service: str, key: str, kind: str, bucket: str = "2026-01-05 10:02:00+00") -> None:
    conn.execute("""INSERT INTO logintel.anomaly_verdicts (model_version, service, template_key, host, bucket, kind,
                        confidence, reason) VALUES (%s, %s, %s, '', %s, %s, 0.95, 'test')""",
                 (version, service, key, bucket, kind))


def test_anomaly_verdicts_and_scope_in_sql(fresh_db):
    with db.transaction(fresh_db) as conn:
        _setup(conn)
        _verdict(conn, "m2", "api", "a", "missed_anomaly")   # log 1: unflagged -> missed_anomaly
        _verdict(conn, "m2", "api", "b", "false_anomaly")    # logs 2, 3: flagged -> false_anomaly
        _verdict(conn, "m2", "db", "a", "missed_anomaly")    # log 5 (unflagged) yes, log 6 (flagged) no
        _verdict(conn, "m2", "db", "c", "missed_anomaly")    # log 4: flag unknown -> nothing
        _verdict(conn, "m2", "db", "a", "false_anomaly", "2026-01-05 10:01:00+00")  # the minute before: nothing
        _verdict(conn, "m1", "api", "a", "false_anomaly")    # another version: not while m2 is judged
        _verdict(conn, "m2", "db", "c", "missed_anomaly", "-infinity")  # template-wide: log 4's flag is unknown
        conn.execute("UPDATE logintel.anomaly_verdicts SET host = '*' WHERE bucket = '-infinity'")
        assert conn.execute("SELECT count(*) FROM logintel.v_prediction_checks").fetchone()[0] == 0  # no scope yet
        conn.execute(db.sql("findings/set_scope"), {"model_version": "m2"})
        conn.execute(db.sql("findings/set_scope"), {"model_version": "m2"})  # idempotent
        rows = conn.execute("SELECT id, model_version, anomaly_issue, anomaly_confidence "
                            "FROM logintel.v_prediction_checks ORDER BY id").fetchall()
        # the scope, not the champion, decides which version is judged
        assert {r[1] for r in rows} == {"m2"} and len(rows) == 6
        assert [(r[0], r[2]) for r in rows if r[2]] == [(1, "missed_anomaly"), (2, "false_anomaly"),
                                                        (3, "false_anomaly"), (5, "missed_anomaly")]
        assert {round(r[3], 2) for r in rows if r[2]} == {0.95}
        conn.execute(db.sql("findings/set_scope"), {"model_version": "m1"})
        assert conn.execute("SELECT count(*) FROM logintel.findings_scope").fetchone()[0] == 1
        checks = conn.execute("SELECT model_version, id, anomaly_issue FROM logintel.v_prediction_checks").fetchall()
        assert {r[0] for r in checks} == {"m1"}
        assert [(r[1], r[2]) for r in checks if r[2]] == []  # log 1 is unflagged: a false_anomaly verdict is not its issue
        # a template-wide verdict (host '*', bucket -infinity) applies to every unflagged line of the template
        _verdict(conn, "m1", "db", "a", "missed_anomaly", "-infinity")
        conn.execute("UPDATE logintel.anomaly_verdicts SET host = '*' WHERE bucket = '-infinity'")
        checks = conn.execute("SELECT id, anomaly_issue FROM logintel.v_prediction_checks ORDER BY id").fetchall()
        assert [r for r in checks if r[1]] == [(5, "missed_anomaly")]


def test_anomaly_window_stats_in_sql(fresh_db):
    with db.transaction(fresh_db) as conn:
        _setup(conn)
        groups = conn.execute(db.sql("findings/anomaly_window_stats"), sql_params("m1")).fetchall()
        for _ in range(2):  # stored once: the second run adds nothing
            conn.execute(db.sql("findings/store_anomaly_baseline"), sql_params("m1"))
            conn.execute(db.sql("findings/store_host_shares"), {"model_version": "m1"})
        base = conn.execute(db.sql("findings/anomaly_baseline"), {"model_version": "m1"}).fetchall()
        hosts = conn.execute(db.sql("findings/host_shares"), {"model_version": "m1"}).fetchall()
    # only buckets with flagged lines (any template) and their neighbours; the unknown flag (log 4) is left out
    assert not any(recent for *_, recent, _level in groups)  # every line is the model's history (max_log_id 6)
    assert sorted((s, k, h, f, u) for s, k, h, _, slow, f, u, _recent, _level in groups if not slow) == [
        ("api", "a", "", 0, 1), ("api", "b", "", 2, 0), ("db", "a", "", 1, 1)]
    assert sorted(r[:5] for r in base) == [("api", "a", False, 0, 1), ("api", "b", False, 2, 0), ("db", "a", False, 1, 1)]
    assert not any(slow for *_, slow, _f, _u, _recent, _level in groups)  # no durations: no slow lines
    # split by the lines' level (an episode's lost flags are shared out by its kept flags' levels)
    assert sorted((s, k, level, f, u) for s, k, _h, _b, _slow, f, u, _recent, level in groups) == [
        ("api", "a", "INFO", 0, 1), ("api", "b", "ERROR", 2, 0), ("db", "a", "INFO", 1, 1)]
    assert sorted(hosts) == [("api", "", 1.0), ("db", "", 1.0)]  # no host attribute: one host per service



def test_the_window_stats_are_split_by_the_lines_level(fresh_db):
    """One template logged at two levels in one bucket: a row per level (the verdicts on templates
    without kept flags share an episode's lost lines out by level)."""
    with db.transaction(fresh_db) as conn:
        _setup(conn)
        batch = conn.execute("SELECT max(id) FROM logintel.ingest_batches").fetchone()[0]
        conn.execute("""INSERT INTO logintel.logs (id, ts, service, source, source_line, level, message, is_anomaly,
                            ingest_batch_id, dedupe_key)
                        VALUES (7, TIMESTAMPTZ '2026-01-05 10:02:30+00', 'api', 'test', 7, 'WARN', 'a', false, %s,
                                md5('7')::uuid)""", (batch,))
        conn.execute("""INSERT INTO logintel.ml_predictions (log_id, model_version, template_key, predicted_level,
                            confidence, anomaly_score, predicted_anomaly) VALUES (7, 'm1', 'a', 'INFO', 0.9, 0.1, false)""")
        groups = conn.execute(db.sql("findings/anomaly_window_stats"), sql_params("m1")).fetchall()
    assert sorted((s, k, level, f, u, recent) for s, k, _h, _b, _slow, f, u, recent, level in groups if s == "api") == [
        ("api", "a", "INFO", 0, 1, 0), ("api", "a", "WARN", 0, 1, 1), ("api", "b", "ERROR", 2, 0, 0)]

def test_slow_lines_are_counted_and_judged_apart(fresh_db):
    """A line beyond its template's duration limit (95th percentile of the history's unflagged
    lines) is counted apart in the baseline and the window stats, and only a verdict on slow
    lines applies to it."""
    with db.transaction(fresh_db) as conn:
        batch = conn.execute("INSERT INTO logintel.ingest_batches (status) VALUES ('running') RETURNING id").fetchone()[0]
        # 25 history lines took 10..34 ms; later: one slow unflagged, one ordinary unflagged, one slow flagged
        rows = [(i, f"2026-01-0{1 + i % 3} 0{i % 9}:00:00+00", False, 9.0 + i) for i in range(1, 26)]
        rows += [(26, "2026-01-05 10:01:00+00", False, 100.0), (27, "2026-01-05 10:02:00+00", False, 12.0),
                 (28, "2026-01-05 10:03:00+00", True, 200.0)]
        for i, ts, flag, ms in rows:
            conn.execute("""INSERT INTO logintel.logs (id, ts, service, source, source_line, level, message, is_anomaly,
                                ingest_batch_id, dedupe_key)
                            VALUES (%s, %s, 'api', 'test', %s, 'WARN', %s, %s, %s, md5(%s::text)::uuid)""",
                         (i, ts, i, f"took {ms}ms", flag, batch, i))
        conn.execute("""INSERT INTO logintel.model_versions (version, algorithm, params, training_rows, max_log_id,
                            artifact_path, artifact_sha256, status)
                        VALUES ('m1', 'test', '{}', 25, 25, '/nowhere', '0', 'champion')""")
        for i, _ts, _flag, ms in rows:
            conn.execute("""INSERT INTO logintel.ml_predictions (log_id, model_version, template_key, predicted_level,
                                confidence, anomaly_score, predicted_anomaly, duration_ms)
                            VALUES (%s, 'm1', 'took <*>', 'WARN', 0.9, 0.1, false, %s)""", (i, ms))
        for _ in range(2):  # stored once
            conn.execute(db.sql("findings/store_duration_limits"), {"model_version": "m1"})
            conn.execute(db.sql("findings/store_anomaly_baseline"), sql_params("m1"))
        limit = conn.execute("SELECT slow_ms FROM logintel.duration_limits").fetchall()
        assert len(limit) == 1 and 32.0 < limit[0][0] < 34.0  # percentile_cont(0.95) of 10..34 = 32.8
        base = conn.execute(db.sql("findings/anomaly_baseline"), {"model_version": "m1"}).fetchall()
        assert sorted(r[:5] for r in base) == [("api", "took <*>", False, 0, 23), ("api", "took <*>", True, 0, 2)]
        groups = conn.execute(db.sql("findings/anomaly_window_stats"), sql_params("m1")).fetchall()
        # one bucket a minute: the slow unflagged line (10:01), the ordinary one (10:02), the slow flagged one (10:03)
        # (all three logged since the history, which ends at log 25)
        assert sorted((str(b)[11:16], slow, f, u, recent) for *_, b, slow, f, u, recent, _level in groups) == [
            ("10:01", True, 0, 1, 1), ("10:02", False, 0, 1, 1), ("10:03", True, 1, 0, 1)]
        # the lines since the history, per template (what a template new since then is judged on)
        recent = conn.execute(db.sql("findings/recent_template_flags"), {"model_version": "m1"}).fetchall()
        assert recent == [("api", "took <*>", 1, 2)]
        conn.execute("""INSERT INTO logintel.anomaly_verdicts (model_version, service, template_key, host, bucket, slow,
                            kind, confidence, reason)
                        VALUES ('m1', 'api', 'took <*>', '', '2026-01-05 10:01:00+00', true, 'missed_anomaly', 0.95, 't')""")
        conn.execute(db.sql("findings/set_scope"), {"model_version": "m1"})
        checks = conn.execute("SELECT id, anomaly_issue FROM logintel.v_prediction_checks WHERE anomaly_issue IS NOT NULL")
        assert checks.fetchall() == [(26, "missed_anomaly")]  # the slow one; the ordinary line 27 keeps its flag


def test_template_level_stats_in_sql(fresh_db):
    with db.transaction(fresh_db) as conn:
        _setup(conn)
        stats = conn.execute(db.sql("findings/template_level_stats"), {"model_version": "m1"}).fetchall()
    # (template, level, lines, most common service)
    assert sorted(stats) == [("a", "INFO", 3, "db"), ("b", "ERROR", 2, "api"), ("c", "WARN", 1, "db")]
