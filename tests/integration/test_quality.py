"""The GX quality suite on real batches in a real Postgres: failures are recorded, not raised."""
from __future__ import annotations

import json

import psycopg

from logintel.ingest import ingest_paths
from logintel.quality.run import pending_batches, validate_batches


def _write(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_good_batch_passes_and_is_not_validated_twice(fresh_db, tmp_path):
    f = tmp_path / "ok.jsonl"
    _write(f, [{"ts": "2026-01-01T00:00:%02dZ" % i, "level": "INFO", "service": "a", "message": f"m{i}"}
               for i in range(30)])
    ingest_paths([f], url=fresh_db)
    batches = pending_batches(fresh_db)
    run = validate_batches(fresh_db, batches, "q1")
    assert run.success and run.failed == []
    assert run.statistics["evaluated_expectations"] == 7
    assert pending_batches(fresh_db) == []
    assert run.data_docs and run.data_docs.endswith("index.html")


def test_bad_batch_is_a_recorded_finding(fresh_db, tmp_path):
    f = tmp_path / "bad.jsonl"
    _write(f, [{"ts": "2026-01-01T00:00:00Z", "level": "INFO", "service": "a", "message": "fine"},
               {"ts": "2199-01-01T00:00:00Z", "level": "INFO", "service": "a", "message": "from the future"},
               {"ts": "2026-01-01T00:00:01Z", "level": "ERROR", "message": "no service"},
               {"ts": "2026-01-01T00:00:02Z", "level": "WARN", "service": "a", "message": "x" * 20000}])
    ingest_paths([f], url=fresh_db)
    run = validate_batches(fresh_db, pending_batches(fresh_db), "q2")
    assert not run.success
    failed = {(x["column"], x["expectation"]): x["unexpected_count"] for x in run.failed}
    assert failed == {("ts_in_future", "expect_column_values_to_be_in_set"): 1,
                      ("service", "expect_column_values_to_not_be_null"): 1,
                      ("message_length", "expect_column_values_to_be_between"): 1}
    with psycopg.connect(fresh_db) as conn:
        row = conn.execute("SELECT success, results FROM logintel.dq_runs WHERE run_key = 'q2'").fetchone()
    assert row[0] is False and len(row[1]) == 3


def test_hostile_messages_never_reach_data_docs_raw(fresh_db, tmp_path):
    evil = "<script>alert('xss')</script>"
    f = tmp_path / "evil.jsonl"
    _write(f, [{"ts": "2026-01-01T00:00:00Z", "level": "INFO", "service": "a", "message": evil + "x" * 10050},
               {"ts": "2026-01-01T00:00:01Z", "level": "INFO", "message": evil}])
    ingest_paths([f], url=fresh_db)
    run = validate_batches(fresh_db, pending_batches(fresh_db), "q3")
    assert not run.success
    from logintel.quality.context import local_site

    site = local_site(fresh_db)
    assert site.is_relative_to(tmp_path)
    pages = list(site.rglob("*.html"))
    assert pages, "Data Docs were built"
    assert not [p for p in pages if evil in p.read_text(errors="replace")]


def test_each_database_has_its_own_data_docs_site(server_url, tmp_path, monkeypatch):
    """Two databases a checkout points at: two GX projects, two Data Docs sites, never mixed."""
    from conftest import _new_database
    from logintel import db
    from logintel.evaluate import drop_database
    from logintel.quality.context import local_site

    monkeypatch.setenv("LOGINTEL_GX_ROOT", str(tmp_path))
    urls = [_new_database(server_url) for _ in range(2)]
    try:
        for i, url in enumerate(urls):
            db.upgrade(url)
            f = tmp_path / f"batch{i}.jsonl"
            _write(f, [{"ts": "2026-01-01T00:00:00Z", "level": "INFO", "service": f"svc{i}", "message": "hello"}])
            ingest_paths([f], url=url)
            validate_batches(url, pending_batches(url), f"run-of-db-{i}")
        sites = [local_site(url) for url in urls]
        assert sites[0] != sites[1] and all((s / "index.html").is_file() for s in sites)
        for site in sites:  # one validation each: a shared site would show the other database's too
            (page,) = (site / "validations").rglob("*.html")
            assert "every log names its service" in page.read_text()  # plain-words descriptions
    finally:
        for url in urls:
            drop_database(url)
