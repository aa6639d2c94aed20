"""Retention: archive a day partition of `logintel.logs` older than LOGINTEL_RETENTION_DAYS, verify
the archive, and only then drop the partition with the rows that pointed at its logs.

Per partition, under `<LOGINTEL_ARCHIVE_DIR>/<partition>/`:

* `logs.jsonl.gz`: its logs as JSON lines in the product's own keys (`logintel ingest` loads
  them back; the original source and line go in `logintel_source` / `logintel_source_line`);
* `findings.jsonl.gz`: the findings of those logs, every column (a finding without its line can
  be neither shown nor acted on, so it leaves with its line; group decisions stay in the
  database: they carry no log id and stand for new lines of their groups);
* `manifest.json`: rows, sha256 of each file, time range, written last (atomically).

A partition is dropped only when the archive's files hash to the manifest and hold as many
lines as the partition holds rows at drop time, all checked in the dropping transaction; else
the attempt is recorded as failed with the reason and the partition stays.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from psycopg import sql as pgsql

from . import db
from .settings import get_settings, mask_url

log = logging.getLogger(__name__)
RETENTION_LOCK = 741_2006  # one retention run at a time
GZIP_LEVEL = 6  # gzip's default trade-off (9 was 3x slower for a few % less)
AHEAD_DAYS = 7  # partitions created ahead by the retention run (ingest creates three days ahead too)


@dataclass(frozen=True)
class Partition:
    name: str
    range_start: datetime
    range_end: datetime


class ArchiveError(RuntimeError):
    """An archive is missing, does not match its manifest, or its partition changed."""


def _q(name: str, partition: str) -> pgsql.Composed:
    """sql/retention/<name>.sql with the partition's name as an identifier."""
    return pgsql.SQL(db.sql(f"retention/{name}")).format(partition=pgsql.Identifier(partition))


def partitions(url: str) -> list[Partition]:
    with db.connect(url) as conn:
        return [Partition(*row) for row in conn.execute(db.sql("retention/partitions"))]


def due(url: str, days: int, now: datetime | None = None) -> list[Partition]:
    """Partitions whose whole range is older than `days` (by ingestion time)."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    return [p for p in partitions(url) if p.range_end <= cutoff]


def ensure_ahead(url: str, days: int = AHEAD_DAYS) -> int:
    with db.transaction(url) as conn:
        return int(conn.execute("SELECT logintel.ensure_log_partitions(now() - interval '1 day', "
                                "now() + make_interval(days => %s))", (days,)).fetchone()[0])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _lines(path: Path) -> int:
    with gzip.open(path, "rb") as f:
        return sum(1 for _ in f)


def _export(conn, query: pgsql.Composed, path: Path) -> int:
    """A query's chunks of JSON lines into a gzip file (written beside, fsynced, then renamed),
    read through a server-side cursor so memory stays at a few chunks. Returns the lines written."""
    tmp = path.with_suffix(path.suffix + ".part")
    n = 0
    with tmp.open("wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=GZIP_LEVEL) as gz:
            with conn.cursor(name=f"export_{path.stem.split('.')[0]}") as cur:
                cur.itersize = 8
                cur.execute(query)
                for (chunk,) in cur:
                    data = chunk.encode("utf-8")
                    gz.write(data)
                    n += data.count(b"\n")
        raw.flush()
        os.fsync(raw.fileno())
    tmp.replace(path)
    return n


def archive(url: str, part: Partition, archive_dir: Path) -> dict:
    """Write and verify the archive of `part` (logs, findings, manifest) and record it."""
    folder = archive_dir / part.name
    logs_path, findings_path, manifest_path = (folder / "logs.jsonl.gz", folder / "findings.jsonl.gz",
                                               folder / "manifest.json")
    record = {"name": part.name, "range_start": part.range_start, "range_end": part.range_end,
              "status": "failed", "log_rows": None, "finding_rows": None, "logs_path": str(logs_path),
              "logs_sha256": None, "findings_path": str(findings_path), "manifest_path": str(manifest_path),
              "min_ts": None, "max_ts": None, "reason": None}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with db.connect(url) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one snapshot for counts and files
            figures = conn.execute(_q("partition_figures", part.name)).fetchone()
            rows, min_ts, max_ts, finding_rows = figures
            written = _export(conn, _q("export_logs", part.name), logs_path)
            written_findings = _export(conn, _q("export_findings", part.name), findings_path)
        if written != rows or _lines(logs_path) != rows:
            raise ArchiveError(f"{logs_path} holds {_lines(logs_path)} lines, the partition {rows} rows")
        if written_findings != finding_rows:
            raise ArchiveError(f"{findings_path} holds {written_findings} findings, the partition {finding_rows}")
        manifest = {"partition": part.name, "range_start": part.range_start.isoformat(),
                    "range_end": part.range_end.isoformat(), "log_rows": rows, "finding_rows": finding_rows,
                    "min_ts": min_ts.isoformat() if min_ts else None, "max_ts": max_ts.isoformat() if max_ts else None,
                    "files": {"logs": {"path": logs_path.name, "sha256": _sha256(logs_path), "lines": rows},
                              "findings": {"path": findings_path.name, "sha256": _sha256(findings_path),
                                           "lines": finding_rows}},
                    "reload": f"logintel ingest {logs_path}",
                    "written_at": datetime.now(timezone.utc).isoformat()}
        tmp = manifest_path.with_suffix(".json.part")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        tmp.replace(manifest_path)
        record.update(status="archived", log_rows=rows, finding_rows=finding_rows,
                      logs_sha256=manifest["files"]["logs"]["sha256"], min_ts=min_ts, max_ts=max_ts)
    except (OSError, ArchiveError) as exc:
        record["reason"] = f"{type(exc).__name__}: {exc}"[:1000]
        log.warning("archive of %s failed, the partition stays: %s", part.name, record["reason"])
    with db.transaction(url) as conn:
        conn.execute(db.sql("retention/record_archive"), record)
    return record


def _check_manifest(manifest_path: Path, rows_now: int) -> dict:
    """The manifest, if its files are there, hash to it and hold the partition's rows (else ArchiveError)."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArchiveError(f"manifest {manifest_path} unreadable: {exc}") from None
    if manifest["log_rows"] != rows_now:
        raise ArchiveError(f"the partition holds {rows_now} rows, its archive {manifest['log_rows']}")
    for entry in manifest["files"].values():
        path = manifest_path.parent / entry["path"]
        if not path.is_file():
            raise ArchiveError(f"archive file {path} is missing")
        if _sha256(path) != entry["sha256"]:
            raise ArchiveError(f"archive file {path} does not match its sha256 in the manifest")
        if _lines(path) != entry["lines"]:
            raise ArchiveError(f"archive file {path} holds {_lines(path)} lines, the manifest {entry['lines']}")
    return manifest


def drop(url: str, part: Partition) -> dict:
    """Drop `part` if its archive checks out against the partition as it is now (one transaction:
    the partition is locked, counted, checked, its dependents deleted, detached and dropped)."""
    with db.connect(url) as conn:
        state = db.query_one(conn, "retention/archive_state", {"name": part.name})
    if state is None or state["status"] != "archived":
        return {"partition": part.name, "status": "kept", "reason": "no verified archive"}
    try:
        with db.transaction(url) as conn:
            conn.execute(pgsql.SQL("LOCK TABLE logintel.{} IN SHARE MODE").format(pgsql.Identifier(part.name)))
            rows_now = conn.execute(pgsql.SQL("SELECT count(*) FROM logintel.{}").format(
                pgsql.Identifier(part.name))).fetchone()[0]
            _check_manifest(Path(state["manifest_path"]), int(rows_now))
            conn.execute(_q("drop_dependents", part.name))
            conn.execute(db.sql("retention/mark"), {"name": part.name, "status": "dropped", "reason": None})
    except ArchiveError as exc:
        reason = f"not dropped: {exc}"
        with db.transaction(url) as conn:
            conn.execute(db.sql("retention/mark"), {"name": part.name, "status": "failed", "reason": reason})
        log.warning("partition %s kept: %s", part.name, reason)
        return {"partition": part.name, "status": "failed", "reason": reason}
    log.info("partition %s archived (%s rows) and dropped", part.name, state["log_rows"])
    return {"partition": part.name, "status": "dropped", "rows": state["log_rows"],
            "findings": state["finding_rows"], "manifest": state["manifest_path"]}


def run(url: str, days: int | None = None, archive_dir: Path | None = None, now: datetime | None = None,
        dry_run: bool = False) -> dict:
    """Create partitions ahead, then archive and drop every partition older than `days`."""
    settings = get_settings()
    days = int(days or settings.retention_days)
    archive_dir = Path(archive_dir or settings.archive_dir)
    with db.connect(url, autocommit=True) as lock_conn:
        lock_conn.execute("SELECT pg_advisory_lock(%s)", (RETENTION_LOCK,))
        try:
            created = ensure_ahead(url)
            todo = due(url, days, now)
            results = []
            for part in todo:
                if dry_run:
                    results.append({"partition": part.name, "status": "due"})
                    continue
                done = archive(url, part, archive_dir)
                results.append(drop(url, part) if done["status"] == "archived"
                               else {"partition": part.name, "status": "failed", "reason": done["reason"]})
        finally:
            lock_conn.execute("SELECT pg_advisory_unlock(%s)", (RETENTION_LOCK,))
    log.info("retention on %s (%d days): %d partitions due, %d created ahead", mask_url(url), days, len(todo), created)
    return {"retention_days": days, "archive_dir": str(archive_dir), "created_ahead": created,
            "partitions": results, "dropped": sum(r["status"] == "dropped" for r in results),
            "failed": sum(r["status"] == "failed" for r in results)}


__all__ = ["Partition", "ArchiveError", "partitions", "due", "ensure_ahead", "archive", "drop", "run"]
