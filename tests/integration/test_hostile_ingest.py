"""The hostile corpus through the real ingest into a real Postgres: every record accounted for."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import psycopg
import pytest

from logintel.ingest import ingest_paths
from logintel.sources import iter_records

HOSTILE = Path(__file__).resolve().parents[1] / "data" / "hostile"


def _generated(tmp: Path) -> list[Path]:
    """Large or derived hostile files, made here rather than committed."""
    big = tmp / "ten_mb_line.jsonl"
    big.write_bytes(b'{"ts": "2026-01-01T00:00:00Z", "level": "INFO", "service": "x", "message": "ok"}\n'
                    + b'{"ts": "2026-01-01T00:00:01Z", "level": "INFO", "message": "' + b"A" * (10 << 20) + b'"}\n'
                    + b'{"ts": "2026-01-01T00:00:02Z", "level": "ERROR", "service": "x", "message": "after"}\n')
    good = b"".join(b'{"ts": "2026-01-01T00:%02d:00Z", "level": "WARN", "service": "gz", "message": "m %d"}\n'
                    % (i, i) for i in range(40))
    ok_gz = tmp / "fine.jsonl.gz"
    ok_gz.write_bytes(gzip.compress(good))
    cut = tmp / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(good)[:-30])
    future = tmp / "timestamps.csv"
    future.write_text("timestamp,level,message,service\n"
                      "2026-01-01T00:00:00+05:30,INFO,zoned,t\n"
                      "Tue, 03 Mar 2026 10:00:00 -0700,INFO,rfc2822,t\n"
                      "1767225600,INFO,epoch,t\n"
                      "2199-12-31T00:00:00Z,INFO,far future,t\n"
                      "1971-01-01T00:00:00Z,INFO,far past,t\n"
                      "31/31/2026 99:00,INFO,nonsense,t\n"
                      "2026-01-01T00:00:00Z,LOUD,unknown level,t\n")
    twice = tmp / "again_blank_lines.jsonl"
    shutil.copy(HOSTILE / "blank_lines.jsonl", twice)
    return [big, ok_gz, cut, future, twice]


@pytest.fixture
def corpus(tmp_path) -> list[Path]:
    files = sorted(p for p in HOSTILE.iterdir() if p.is_file())
    assert len(files) >= 20, "the hostile corpus is missing"
    return files + _generated(tmp_path)


def test_hostile_corpus_is_fully_accounted_for(fresh_db, corpus):
    expected = {str(p.resolve()): sum(1 for _ in iter_records(p)) for p in corpus}
    result = ingest_paths(corpus, url=fresh_db)
    assert result.read == result.loaded + result.duplicates + result.quarantined
    # The blank-lines file and its copy have the same bytes: the copy is skipped whole.
    assert len(result.skipped_files) == 1
    assert result.read == sum(expected.values()) - expected[result.skipped_files[0]]
    with psycopg.connect(fresh_db) as conn:
        batch = conn.execute("SELECT status, read_count, loaded_count, duplicate_count, quarantined_count "
                             "FROM logintel.ingest_batches WHERE id = %s", (result.batch_id,)).fetchone()
        per_source = dict(conn.execute(
            """SELECT source, sum(n) FROM (
                   SELECT source, count(*) AS n FROM logintel.logs GROUP BY source
                   UNION ALL SELECT source, count(*) FROM logintel.logs_quarantine GROUP BY source) s
               GROUP BY source""").fetchall())
        reasons = conn.execute("SELECT reason, raw FROM logintel.logs_quarantine").fetchall()
        far = conn.execute("SELECT count(*) FROM logintel.logs WHERE message IN ('far future', 'far past')").fetchone()[0]
    assert batch == ("done", result.read, result.loaded, result.duplicates, result.quarantined)
    # Stored rows per file: its records, less those already stored from another file
    # (identical ts, level, service and message: a duplicate, counted as such).
    assert sum(per_source.values()) == result.loaded + result.quarantined
    for source, n in expected.items():
        assert per_source.get(source, 0) <= n, source
    assert result.duplicates == sum(n for s, n in expected.items() if s not in result.skipped_files) \
        - sum(per_source.values())
    assert all(reason and reason.strip() for reason, _ in reasons)
    assert any("truncated gzip" in r or "corrupt gzip" in r for r, _ in reasons)
    assert any("too long" in r for r, _ in reasons)
    assert any("unknown level" in r for r, _ in reasons)
    assert far == 2, "odd but valid timestamps load; the quality suite judges them"


def test_a_batch_that_fails_midway_writes_nothing(fresh_db, tmp_path, monkeypatch):
    f1, f2 = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    f1.write_text('{"ts": "2026-01-01T00:00:00Z", "level": "INFO", "service": "a", "message": "one"}\n')
    f2.write_text('{"ts": "2026-01-01T00:00:00Z", "level": "INFO", "service": "b", "message": "two"}\n')
    import logintel.ingest as ingest_mod

    real = ingest_mod.load_records
    calls = []

    def flaky(conn, records, source, result, *args, **kwargs):
        calls.append(source)
        if len(calls) == 2:
            raise OSError("disk went away")
        return real(conn, records, source, result, *args, **kwargs)

    monkeypatch.setattr(ingest_mod, "load_records", flaky)
    with pytest.raises(OSError):
        ingest_paths([f1, f2], url=fresh_db)
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM logintel.logs").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM logintel.ingested_files").fetchone()[0] == 0
        assert conn.execute("SELECT status FROM logintel.ingest_batches").fetchone()[0] == "failed"
    monkeypatch.undo()
    assert ingest_paths([f1, f2], url=fresh_db).loaded == 2
