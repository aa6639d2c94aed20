"""The HTML report against a real PostgreSQL database holding hostile log messages.

`seed_findings` is shared with test_plugin.py (same folder, imported by module name).
"""
from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from logintel.display import display_text, safe_link
from logintel.report import write_report
from logintel.report.data import metric_tables

HOSTILE = "<script>alert(1)</script>'); DROP TABLE logs; --\x1b[31mred"
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)
METRICS = {"level": {"macro_f1": 0.912, "per_level": {"INFO": {"precision": 0.95, "recall": 0.9},
                                                      "ERROR": {"precision": 0.8, "recall": 0.75}}},
           "anomaly": {"precision": 0.81, "recall": 0.7}}


def seed_findings(url: str) -> dict:
    """A batch, five logs (one hostile), a champion and a retired model, predictions, findings,
    a GX run and injected issues. Returns the ids the tests look for."""
    with psycopg.connect(url) as conn:
        batch = conn.execute(
            """INSERT INTO logintel.ingest_batches (finished_at, sources, status, read_count, loaded_count,
                                                    duplicate_count, quarantined_count)
               VALUES (now(), '{app.log}', 'done', 8, 5, 2, 1) RETURNING id""").fetchone()[0]
        conn.execute("""INSERT INTO logintel.logs_quarantine (batch_id, source, source_line, raw, reason)
                        VALUES (%s, 'app.log', 9, %s, 'no timestamp')""", (batch, b"garbage \x1b[0m"))
        logs = [  # (minutes after T0, service, line, level, message, is_anomaly)
            (5, "api", 1, "INFO", HOSTILE, False),
            (20, "disk", 2, "DEBUG", "disk failure on /dev/sda: I/O error", False),
            (61, "auth", 3, "ERROR", "user alice logged in", False),
            (90, "api", 4, "INFO", "request served in 12 ms", True),
            (95, "api", 5, "INFO", "health check ok", False),
        ]
        ids = []
        for minutes, service, line, level, message, anomaly in logs:
            ids.append(conn.execute(
                """INSERT INTO logintel.logs (ts, service, source, source_line, level, message, is_anomaly,
                                              attrs, ingest_batch_id, dedupe_key)
                   VALUES (%s, %s, 'app.log', %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
                (T0 + timedelta(minutes=minutes), service, line, level, message, anomaly,
                 json.dumps({"host": "web-1"}), batch, uuid.uuid4())).fetchone()[0])
        for version, status in (("v0", "retired"), ("v1", "champion")):
            conn.execute(
                """INSERT INTO logintel.model_versions (version, algorithm, params, metrics, training_rows, max_log_id,
                                                        artifact_path, artifact_sha256, status, decision)
                   VALUES (%s, 'tfidf+logreg', '{"false_anomaly_below": 0.2}', %s, 5, %s, '/tmp/m.joblib',
                           'abc123', %s, 'promoted: better macro F1')""",
                (version, json.dumps(METRICS), max(ids), status))
        predicted = {0: ("ERROR", True), 1: ("FATAL", False), 2: ("INFO", False), 3: ("INFO", False), 4: ("INFO", False)}
        for i, (level, anomaly) in predicted.items():
            for version in ("v0", "v1"):
                conn.execute(
                    """INSERT INTO logintel.ml_predictions (log_id, model_version, template_key, predicted_level,
                                                            confidence, anomaly_score, predicted_anomaly)
                       VALUES (%s, %s, %s, %s, 0.93, %s, %s)""",
                    (ids[i], version, f"tpl-{i}", level, 0.9 if anomaly else 0.05, anomaly))
        findings = [  # (log index, kind, recorded, suggested, confidence, reason, model)
            (0, "level_understated", "INFO", "ERROR", 0.97, "template <b>x</b> is ERROR in 98% of lines", "v1"),
            (0, "missed_anomaly", "false", "true", 0.88, "anomaly score 0.90", "v1"),
            (1, "level_understated", "DEBUG", "FATAL", 0.95, "disk failures are FATAL", "v1"),
            (2, "level_overstated", "ERROR", "INFO", 0.91, "logins are INFO", "v1"),
            (3, "false_anomaly", "true", "false", 0.6, "score 0.05", "v1"),
            (4, "level_understated", "INFO", "WARN", 0.99, "retired model's opinion", "v0"),
        ]
        for i, kind, rec, sug, conf, reason, version in findings:
            conn.execute(
                """INSERT INTO logintel.dq_findings (log_id, run_key, kind, recorded_value, suggested_value,
                                                     confidence, reason, model_version)
                   VALUES (%s, 'run-1', %s, %s, %s, %s, %s, %s)""", (ids[i], kind, rec, sug, conf, reason, version))
        conn.execute(
            """INSERT INTO logintel.dq_runs (run_key, suite, batch_ref, success, statistics, data_docs_path)
               VALUES ('run-1', 'logintel_findings', 'batch-1', false, %s, '/tmp/gx/local_site/index.html'),
                      ('run-0', 'javascript_suite', 'batch-0', true, '{}', 'javascript:alert(1)')""",
            (json.dumps({"evaluated_expectations": 5, "successful_expectations": 3, "success_percent": 60.0}),))
        conn.execute(
            """INSERT INTO logintel.injected_issues (log_id, injection_run, scheme, kind, original_level, injected_level,
                                                     original_anomaly, injected_anomaly)
               VALUES (%s, 'r', 'reference', 'level', 'FATAL', 'DEBUG', NULL, NULL),
                      (%s, 'r', 'reference', 'anomaly_flag', NULL, NULL, true, false)""", (ids[1], ids[0]))
    return {"log_ids": ids, "hostile_id": ids[0], "batch_id": batch, "champion": "v1"}


@pytest.fixture(scope="module")
def seeded(module_db):
    return {"url": module_db, **seed_findings(module_db)}


@pytest.fixture(scope="module")
def report_html(seeded, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "sub" / "report.html"
    path = write_report(seeded["url"], out)
    assert path == out
    return path.read_text(encoding="utf-8")


def _text(html: str) -> str:
    """The visible text, roughly: tags removed, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_report_is_written_to_the_default_place(seeded, tmp_path, monkeypatch):
    monkeypatch.setenv("LOGINTEL_REPORTS_DIR", str(tmp_path / "reports"))
    path = write_report(seeded["url"])
    assert path == tmp_path / "reports" / "logintel_report.html"
    assert path.stat().st_size > 10_000  # plots included
    assert not list(path.parent.glob(".report-*"))  # no temporary file left behind


def test_report_shows_counts_model_and_findings(report_html):
    text = _text(report_html)
    for label, value in (("logs stored", "5"), ("records read", "8"), ("loaded", "5"),
                         ("duplicates skipped", "2"), ("quarantined", "1"), ("findings", "5")):
        assert re.search(rf"{value} {label}", text), (label, value)
    assert "v1" in text and "tfidf+logreg" in text
    assert "0.9120" in text  # level.macro_f1
    assert "per_level" in text and "precision" in text and "recall" in text
    for kind in ("level_understated", "level_overstated", "missed_anomaly", "false_anomaly"):
        assert kind in text
    assert "retired model&#39;s opinion" not in report_html and "retired model's opinion" not in text
    assert "disk failure on /dev/sda" in text
    assert "app.log:2" in text
    assert "logintel_findings" in text and "found problems" in text
    assert 'href="file:///tmp/gx/local_site/index.html"' in report_html
    assert "Detection against the injected issues" in text


def test_report_embeds_its_png_plots(report_html):
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', report_html)
    # by kind, over time, per service, confidence, level distribution (triage: none decided yet)
    assert len(images) == 5
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<script" not in report_html.lower()  # self-contained, no script at all


def test_hostile_message_is_escaped_and_control_characters_are_visible(report_html):
    assert "<script>alert(1)</script>" not in report_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report_html
    assert "&#39;); DROP TABLE logs; --\\x1b[31mred" in report_html
    assert "\x1b" not in report_html
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", report_html)
    assert "&lt;b&gt;x&lt;/b&gt;" in report_html  # reasons are escaped too
    assert 'href="javascript:' not in report_html  # unsafe Data Docs paths are not links


def test_report_never_shows_the_database_password(seeded, tmp_path):
    parts = urlsplit(seeded["url"])
    if parts.password:
        url, password = seeded["url"], parts.password
    else:  # add one; a trust-auth server ignores it, others refuse it (then there is nothing to test)
        password = "pw-Secr3t-should-not-leak"  # planted-secret
        netloc = f"{parts.username or 'postgres'}:{password}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.OperationalError:
            pytest.skip("the test server does not accept an arbitrary password (not trust auth)")
    html = write_report(url, tmp_path / "r.html").read_text(encoding="utf-8")
    assert password not in html
    assert ":***@" in html


def test_report_on_an_empty_database(fresh_db, tmp_path):
    html = write_report(fresh_db, tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "No champion model yet" in html
    assert "No findings" in html


def test_display_text_and_helpers():
    assert display_text("a\x1b[31mb\tc\nd\u202ee\x00") == "a\\x1b[31mb\tc\nd\\u202ee\\x00"
    assert display_text(None) == ""
    assert safe_link("javascript:alert(1)") is None
    assert safe_link("relative/index.html") is None
    assert safe_link("/tmp/x/index.html") == "file:///tmp/x/index.html"
    scalars, matrices = metric_tables(METRICS)
    assert ("level.macro_f1", 0.912) in scalars and ("anomaly.precision", 0.81) in scalars
    assert matrices[0]["title"] == "level.per_level"
    assert [r[0] for r in matrices[0]["rows"]] == ["INFO", "ERROR"]
    assert metric_tables({"odd": [1, 2], "n": None})[0] == [("n", None), ("odd", "[1, 2]")]
    assert metric_tables("not json")[0] == [("metrics", "not json")]


def test_report_lists_finding_groups_first(report_html):
    text = _text(report_html)
    order = [text.index(h) for h in ("Finding groups: what to fix", "Findings over time", "Findings per service",
                                     "Confidence of the findings", "Triage precision", "Champion model",
                                     "Great Expectations runs")]
    assert order == sorted(order)
    assert "Top 50 findings" not in text  # lines appear inside their group only
    groups = report_html[report_html.index('id="groups"'):report_html.index('id="over-time"')]
    assert "tpl-1" in groups and "level_understated" in groups and "app.log:2" in groups
    assert "disk failure on /dev/sda" in groups
    assert "template &lt;b&gt;x&lt;/b&gt;" in groups and "<b>x</b>" not in groups  # reasons escaped
    assert "retired model" not in groups  # the champion's groups only


def test_report_shows_triage_precision_per_kind_and_model_version(fresh_db, tmp_path):
    from logintel import triage
    from logintel.findings import export_groups

    seed_findings(fresh_db)
    groups = {g["service"] + "/" + g["kind"]: g["group_id"] for g in export_groups(fresh_db)}
    triage.decide(fresh_db, groups["disk/level_understated"], "confirmed", "alice")
    triage.decide(fresh_db, groups["auth/level_overstated"], "dismissed", "bob")
    triage.decide(fresh_db, groups["api/level_understated"], "confirmed", "alice")
    html = write_report(fresh_db, tmp_path / "r.html").read_text(encoding="utf-8")
    section = _text(html[html.index('id="triage"'):html.index('id="levels"')])
    # v1: two level_understated confirmed (precision 1), one level_overstated dismissed (precision 0)
    assert re.search(r"v1 level_understated 2 0 0 1\.000", section), section
    assert re.search(r"v1 level_overstated 0 1 0 0\.000", section), section
    assert re.search(r"v1 missed_anomaly 0 0 1 –", section), section
    assert len(re.findall(r'src="data:image/png;base64,', html)) == 6  # the triage plot too
