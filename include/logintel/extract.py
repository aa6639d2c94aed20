"""Extract logs from where they already live: a PostgreSQL table, read in place, incrementally.

A source is a table (or view) with a monotonic integer key and a column mapping; the `log_entries`
preset is the shape of the system Logintel replaces (`id`, `timestamp`, `level`, `message`,
`service`, `host`, `is_anomaly`, and more columns, all kept in `attrs`).

Each chunk (rows with key > the watermark, in key order) is one ingest batch in one transaction of
the Logintel database, and the source's watermark advances in that same transaction: a kill or a
source outage leaves it where the last committed chunk ended, and a re-run extracts nothing twice.
The source connection is read-only (the role needs only SELECT) and nothing is written to it.
Rows are accounted like file records: loaded, duplicates (by the source's key) or quarantined with
the row's values and the reason (NULL or unknown level, NULL message, a timestamp out of range).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import db
from .ingest import BatchResult, load_records, loading_batch
from .sources.fields import anomaly_field, level_field, message_field, service_field, timestamp_field
from .sources.record import Record

FIELDS = ("ts", "level", "message", "service", "is_anomaly", "host")
PRESETS: dict[str, dict[str, str]] = {
    "log_entries": {"ts": "timestamp", "level": "level", "message": "message", "service": "service",
                    "is_anomaly": "is_anomaly", "host": "host"},
}
SOURCE_LINE_MAX = 2**31 - 1  # logs.source_line is an integer; every key is also kept in attrs.source_key


class ExtractError(ValueError):
    """A source that cannot be extracted as given (bad mapping, missing table or column)."""


@dataclass
class TableSource:
    url: str = field(repr=False)  # libpq URL of the source database (may hold a password)
    table: str  # "table" or "schema.table"
    key: str = "id"
    columns: dict[str, str] = field(default_factory=lambda: dict(PRESETS["log_entries"]))
    # "key": rows with a key above the largest extracted (a monotonic id). "ts": rows from the
    # largest extracted timestamp minus `lookback_minutes`, so rows that arrive late (with an older
    # timestamp) inside that window are still read; the key makes re-read rows duplicates.
    watermark: str = "key"
    lookback_minutes: int = 0

    def __post_init__(self) -> None:
        if self.watermark not in ("key", "ts"):
            raise ExtractError(f"watermark must be 'key' or 'ts', got {self.watermark!r}")
        if self.lookback_minutes < 0:
            raise ExtractError("lookback_minutes must be 0 or more")

    @property
    def name(self) -> str:
        """How the source is named in `logs.source` and the watermark: no credentials."""
        parts = urlsplit(self.url)
        database = parts.path.lstrip("/") or "postgres"
        return f"postgres://{parts.hostname or 'localhost'}:{parts.port or 5432}/{database}/{self.qualified}"

    @property
    def qualified(self) -> str:
        return self.table if "." in self.table else f"public.{self.table}"


def mapping(preset: str | None = None, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """A column mapping: a preset (or none) with `field=column` overrides."""
    if preset is not None and preset not in PRESETS:
        raise ExtractError(f"unknown preset {preset!r}: use one of {', '.join(PRESETS)}")
    columns = dict(PRESETS[preset]) if preset else {}
    for name, column in (overrides or {}).items():
        if name not in FIELDS:
            raise ExtractError(f"cannot map {name!r}: the fields are {', '.join(FIELDS)}")
        columns[name] = column
    for required in ("ts", "level", "message"):
        if required not in columns:
            raise ExtractError(f"the mapping needs a column for {required!r} (a preset or {required}=COLUMN)")
    return columns


def _select(source: TableSource):
    """SELECT key, the mapped columns as text, every other column as JSON, and the watermark column,
    for the rows after the cursor, in watermark order."""
    from psycopg import sql

    schema, table = source.qualified.split(".", 1)
    key = sql.Identifier(source.key)
    mapped = [sql.SQL("t.{}::text").format(sql.Identifier(source.columns[f])) if f in source.columns
              else sql.SQL("NULL") for f in FIELDS]
    others = sql.SQL("to_jsonb(t) - {}::text[]").format(sql.Literal([source.key, *source.columns.values()]))
    if source.watermark == "key":
        where, order, mark = sql.SQL("t.{k} > %(after_key)s").format(k=key), sql.SQL("t.{k}").format(k=key), sql.SQL("NULL::timestamptz")
    else:  # (ts, key) after the cursor, and not before the look-back start
        ts = sql.Identifier(source.columns["ts"])
        where = sql.SQL("t.{ts} >= %(since)s AND (t.{ts}, t.{k}) > (%(after_ts)s, %(after_key)s)").format(ts=ts, k=key)
        order, mark = sql.SQL("t.{ts}, t.{k}").format(ts=ts, k=key), sql.SQL("t.{ts}::timestamptz").format(ts=ts)
    return sql.SQL("SELECT t.{key}::bigint, {mapped}, ({others})::text, {mark} FROM {schema}.{table} t "
                   "WHERE {where} ORDER BY {order} LIMIT %(limit)s").format(
        key=key, mapped=sql.SQL(", ").join(mapped), others=others, mark=mark, where=where, order=order,
        schema=sql.Identifier(schema), table=sql.Identifier(table))


def to_record(row: tuple) -> Record:
    """A source row as a Record (errors as quarantine reasons, the row's values as its raw bytes)."""
    key, ts, level, message, service, anomaly, host, rest = row[:8]
    attrs = json.loads(rest) if rest else {}
    if host is not None:
        attrs["host"] = host
    attrs["source_key"] = key
    errors: list[str] = []
    rec = Record(key if 0 < key <= SOURCE_LINE_MAX else 0, b"", timestamp_field(ts, errors),
                 level_field(level, errors), message_field(message, errors), service_field(service, None, errors),
                 anomaly_field(anomaly, errors), attrs)
    if errors:
        values = {"key": key, "ts": ts, "level": level, "message": message, "service": service,
                  "is_anomaly": anomaly, **attrs}
        rec.raw = json.dumps(values, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")
        rec.error = "; ".join(errors)
    return rec


def extract(url: str, source: TableSource, chunk_rows: int = 50_000, max_chunks: int | None = None) -> list[BatchResult]:
    """Extract the source's rows after its watermark into `url`, chunk by chunk; one batch each."""
    import psycopg

    name = source.name
    results: list[BatchResult] = []
    try:
        return _extract_chunks(url, source, name, chunk_rows, max_chunks, results)
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.InvalidSchemaName) as exc:
        raise ExtractError(f"source {name}: {str(exc).splitlines()[0]}") from None


def _extract_chunks(url: str, source: TableSource, name: str, chunk_rows: int, max_chunks: int | None,
                    results: list[BatchResult]) -> list[BatchResult]:
    from datetime import datetime, timedelta, timezone

    start = datetime(1, 1, 1, tzinfo=timezone.utc)
    cursor: dict | None = None  # where the next chunk starts; from the watermark for the first
    with db.connect(source.url) as src:
        src.read_only = True  # the source is only ever read
        query = _select(source)
        while max_chunks is None or len(results) < max_chunks:
            with loading_batch(url, [name]) as (conn, result):
                found = conn.execute(db.sql("extract/watermark"), {"source": name}).fetchone()
                if cursor is None:
                    last_key, last_ts = found if found else (0, None)
                    since = (last_ts - timedelta(minutes=source.lookback_minutes)) if last_ts else start
                    cursor = {"after_key": last_key if source.watermark == "key" else -2**63,
                              "after_ts": since, "since": since}
                rows = src.execute(query, {**cursor, "limit": chunk_rows}).fetchall()
                src.rollback()  # no snapshot held between chunks
                load_records(conn, (to_record(r) for r in rows), name, result,
                             dedupe=lambda rec: hashlib.md5(f"{name}\x1f{rec.attrs['source_key']}".encode()).hexdigest())
                if rows:
                    last = rows[-1]
                    cursor.update(after_key=last[0], after_ts=last[8] or cursor["after_ts"])
                    conn.execute(db.sql("extract/advance"), {"source": name, "last_key": max(r[0] for r in rows),
                                                             "last_ts": max((r[8] for r in rows if r[8]), default=None),
                                                             "rows": len(rows)})
            if not rows:
                _drop_empty_batch(url, result.batch_id)
                break
            results.append(result)
            if len(rows) < chunk_rows:
                break
    return results


def totals(results: list[BatchResult]) -> dict:
    """One extract's batches and counts, summed over its chunks."""
    return {"batches": [r.batch_id for r in results],
            **{k: sum(getattr(r, k) for r in results) for k in ("read", "loaded", "duplicates", "quarantined")}}


def _drop_empty_batch(url: str, batch_id: int) -> None:
    """A chunk that found nothing new leaves no batch behind (an empty run changes nothing)."""
    with db.transaction(url) as conn:
        conn.execute("DELETE FROM logintel.ingest_batches WHERE id = %s AND read_count = 0", (batch_id,))


__all__ = ["TableSource", "PRESETS", "mapping", "extract", "totals", "to_record", "ExtractError"]
