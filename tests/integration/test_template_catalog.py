"""The template catalog on a real PostgreSQL (issue 11): every log carries its template id from the
moment it is stored, the catalog's line counts stay exact under re-ingest, duplicates, retention and
re-scoring, logs stored without an id are templated once by a resumable step, and scoring and
training read the keys instead of masking the messages again."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from db_checks import assert_catalog_exact
from logintel import masking, retention, scoring, template_catalog, training
from logintel.cli import main
from logintel.ingest import ingest_paths
from logintel.synthetic import generate, write_logs

START = datetime(2026, 1, 5, tzinfo=timezone.utc)


def _count(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


def test_ingest_templates_each_log_and_counts_stay_exact_under_reingest_and_duplicates(fresh_db, tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_logs(generate(3000, days=1, seed=3, start=START), first)
    lines = first.read_text().splitlines()
    # the second file repeats 500 of the first file's records, adds 200 new ones and one bad line
    write_logs(generate(200, days=1, seed=4, start=START + timedelta(days=1)), second)
    second.write_text("\n".join(lines[:500]) + "\n" + second.read_text() + "not json\n")
    ingest_paths([first], url=fresh_db)
    assert assert_catalog_exact(fresh_db) == 3000
    result = ingest_paths([second], url=fresh_db)
    assert (result.loaded, result.quarantined) == (200, 1)
    assert assert_catalog_exact(fresh_db) == 3200
    ingest_paths([first, second], url=fresh_db)  # both skipped: loaded in full already
    assert assert_catalog_exact(fresh_db) == 3200
    assert _count(fresh_db, "SELECT sum(lines) FROM logintel.template_counts") == 3200
    assert _count(fresh_db, "SELECT count(*) FROM logintel.logs WHERE template_id IS NULL") == 0


def test_scoring_and_training_read_the_catalog_and_never_mask(fresh_db, tmp_path, monkeypatch):
    path = tmp_path / "a.jsonl"
    write_logs(generate(3000, days=1, seed=3, start=START), path)
    ingest_paths([path], url=fresh_db)

    masking.thread_masker().clear()

    def no_masking(message):
        raise AssertionError(f"masked again: {message!r}")

    monkeypatch.setattr(masking, "template_key", no_masking)
    training.train_and_register(fresh_db, seed=0)
    scoring.score_all(fresh_db, run_key="r1")
    training.train_and_register(fresh_db, seed=1)  # a challenger: judged on scored logs too
    scoring.score_all(fresh_db, run_key="r2")  # re-scoring
    with psycopg.connect(fresh_db) as conn:
        mismatched = conn.execute("SELECT count(*) FROM logintel.ml_predictions p JOIN logintel.logs l ON l.id = p.log_id "
                                  "JOIN logintel.templates t ON t.id = l.template_id "
                                  "WHERE p.template_key <> t.template_key").fetchone()[0]
        scored = conn.execute("SELECT count(DISTINCT log_id) FROM logintel.ml_predictions").fetchone()[0]
    assert (scored, mismatched) == (3000, 0)
    monkeypatch.undo()
    assert assert_catalog_exact(fresh_db) == 3000


def test_logs_stored_without_an_id_are_templated_once_and_resumably(fresh_db, tmp_path, capsys):
    path = tmp_path / "a.jsonl"
    write_logs(generate(2000, days=1, seed=3, start=START), path)
    ingest_paths([path], url=fresh_db)
    with psycopg.connect(fresh_db) as conn:  # as an older release stored them
        conn.execute("UPDATE logintel.logs SET template_id = NULL")
        conn.execute("DELETE FROM logintel.template_counts")
    real = template_catalog.ensure_ids
    calls = []

    def stop_after_two_chunks(url, keys):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return real(url, keys)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(template_catalog, "ensure_ids", stop_after_two_chunks)
        with pytest.raises(RuntimeError):
            template_catalog.assign(fresh_db, chunk_rows=500)
    # two chunks committed, with their counts; the rest untouched
    assert _count(fresh_db, "SELECT count(*) FROM logintel.logs WHERE template_id IS NULL") == 1000
    assert _count(fresh_db, "SELECT sum(lines) FROM logintel.template_counts") == 1000
    assert main(["templates", "--top", "3"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["templated"] == 1000 and shown["untemplated_logs"] == 0 and len(shown["largest"]) == 3
    assert shown["largest"][0]["lines"] >= shown["largest"][1]["lines"]
    assert assert_catalog_exact(fresh_db) == 2000
    assert template_catalog.assign(fresh_db) == 0  # nothing left: a no-op


def test_retention_takes_a_dropped_partitions_counts_and_keeps_the_rest_exact(fresh_db, tmp_path):
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    write_logs(generate(1500, days=1, seed=3, start=START), old)
    write_logs(generate(700, days=1, seed=4, start=START + timedelta(days=1)), new)
    first = ingest_paths([old], url=fresh_db)
    ingest_paths([new], url=fresh_db)
    with psycopg.connect(fresh_db) as conn:
        conn.execute("SELECT logintel.ensure_log_partitions(now() - interval '40 days', now() - interval '40 days')")
        conn.execute("UPDATE logintel.logs SET ingested_at = ingested_at - interval '40 days' "
                     "WHERE ingest_batch_id = %s", (first.batch_id,))
    out = retention.run(fresh_db, days=30, archive_dir=tmp_path / "archive")
    assert [p["status"] for p in out["partitions"]] == ["dropped"], out
    assert assert_catalog_exact(fresh_db) == 700
    assert _count(fresh_db, "SELECT sum(lines) FROM logintel.template_counts") == 700


def test_a_new_masker_version_retemplates_every_stored_log_once(fresh_db, tmp_path, monkeypatch):
    path = tmp_path / "a.jsonl"
    write_logs(generate(1500, days=1, seed=3, start=START), path)
    ingest_paths([path], url=fresh_db)
    assert template_catalog.assign(fresh_db) == 0  # all templated at ingest
    monkeypatch.setattr(masking, "MASKER_VERSION", 2)
    monkeypatch.setattr(template_catalog, "MASKER_VERSION", 2)
    assert template_catalog.assign(fresh_db, retemplate=True, chunk_rows=400) == 1500
    assert template_catalog.assign(fresh_db, retemplate=True) == 0  # once: nothing left on version 1
    assert assert_catalog_exact(fresh_db) == 1500  # every log on a version-2 template, counts exact
    with psycopg.connect(fresh_db) as conn:
        versions = conn.execute("SELECT DISTINCT t.masker_version FROM logintel.template_counts c "
                                "JOIN logintel.templates t ON t.id = c.template_id").fetchall()
    assert versions == [(2,)]


def test_a_callsite_injection_demotes_whole_catalog_templates(fresh_db, tmp_path, monkeypatch):
    from logintel import corrupt

    path = tmp_path / "a.jsonl"
    write_logs(generate(4000, days=1, seed=3, start=START), path)
    ingest_paths([path], url=fresh_db)
    monkeypatch.setattr(masking, "template_key", lambda m: (_ for _ in ()).throw(AssertionError("masked again")))
    corrupt.inject(fresh_db, rate=0.03, scheme="callsite", seed=1)
    with psycopg.connect(fresh_db) as conn:
        # a chosen template's lines at the level it was demoted from: every one of them was demoted
        left = conn.execute("""
            SELECT count(*) FROM logintel.logs m
            WHERE (m.template_id, m.level) IN (SELECT l.template_id, i.original_level
                                               FROM logintel.injected_issues i JOIN logintel.logs l ON l.id = i.log_id)
              AND NOT EXISTS (SELECT 1 FROM logintel.injected_issues j WHERE j.log_id = m.id)""").fetchone()[0]
        templates, total = conn.execute("SELECT count(DISTINCT l.template_id), count(*) FROM logintel.injected_issues i "
                                        "JOIN logintel.logs l ON l.id = i.log_id").fetchone()
    assert left == 0 and templates >= 2
    assert 0.5 * 0.03 * 4000 <= total <= 2 * 0.03 * 4000
