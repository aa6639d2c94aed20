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
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from . import db, template_catalog
from .durations import message_duration_ms
from .masking import thread_masker
from .progress import RowProgress
from .ingest import STAGE_COLUMNS, BatchResult, IngestError, _stage_rows, loading_batch, merge_staged
from .settings import get_settings
from .sources.fields import anomaly_field, decode, level_field, message_field, service_field, timestamp_field
from .sources.reader import keep_bytes, too_long_reason
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
    table: str  # "table" or "schema.table"; with `query`, the name the query's rows go by
    key: str = "id"
    columns: dict[str, str] = field(default_factory=lambda: dict(PRESETS["log_entries"]))
    # "key": rows with a key above the largest extracted (a monotonic id). "ts": rows from the
    # largest extracted timestamp minus `lookback_minutes`, so rows that arrive late (with an older
    # timestamp) inside that window are still read; the key makes re-read rows duplicates.
    watermark: str = "key"
    lookback_minutes: int = 0
    # a SELECT read instead of the table (its columns are mapped like a table's); `table` names it
    query: str | None = None

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
        if self.query is not None:
            return f"query:{self.table}"
        return self.table if "." in self.table else f"public.{self.table}"

    def relation(self):
        """The FROM item the rows are read from: the table, or the query as a subquery."""
        from psycopg import sql

        if self.query is not None:
            return sql.SQL("({})").format(sql.SQL(self.query.strip().rstrip(";")))
        schema, table = self.qualified.split(".", 1)
        return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


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


def _select(source: TableSource, ts_type: str | None = None, name: str = "", hex_fields: frozenset[str] = frozenset(),
            checked: bool = False, other_columns: list[str] | None = None):
    """SELECT key, the mapped columns as text, every other column as JSON, and the watermark column,
    for the rows after the cursor, in watermark order. A timestamp column is rendered in UTC (the
    session's TimeZone is UTC; a column without a zone is read as UTC, as the parsers do); a bytea
    column among `hex_fields` as hex (its bytes may not be UTF-8: to_record decodes and checks them)."""
    from psycopg import sql

    key = sql.Identifier(source.key)

    def text_of(name: str):
        column = sql.Identifier(source.columns[name])
        if name == "ts" and ts_type == "timestamp without time zone":
            return sql.SQL("(t.{} AT TIME ZONE 'UTC')::text").format(column)
        if name in hex_fields:  # bytea: its bytes as hex, decoded (and checked) on Logintel's side
            return sql.SQL("encode(t.{}, 'hex')").format(column)
        return sql.SQL("t.{}::text").format(column)

    mapped = [text_of(f) if f in source.columns else sql.SQL("NULL") for f in FIELDS]
    # The row checks of the one-statement path run on the source's server too, beside Logintel's
    # inserts: the level's canonical name and every check but the size (merge_checked adds that).
    ts, level, message, service, flag = (mapped[FIELDS.index(f)] for f in ("ts", "level", "message", "service", "is_anomaly"))
    canonical = sql.SQL("(%(levels)s::text[])[array_position(%(spellings)s::text[], "
                        "upper(btrim({}, E' \\t\\r\\n\\f\\v[]()<>{{}}')))]").format(level)
    pre_ok = sql.SQL("coalesce({m} IS NOT NULL AND {m} !~ '^\\s*$' AND CASE WHEN {ts} ~ "
                     "'^\\d{{4}}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(\\.\\d{{1,6}})?\\+00$' "
                     "THEN substr({ts}, 1, 4)::int BETWEEN %(min_year)s AND %(max_year)s ELSE false END "
                     "AND ({f} IS NULL OR {f} IN ('true', 'false')) AND ({s} IS NULL OR {s} !~ '^\\s*$'), false)").format(
        m=message, ts=ts, f=flag, s=service) if checked else sql.SQL("false")
    # the source's server builds attrs (every other column, host, the key) and the dedupe key: that
    # work then runs beside Logintel's inserts instead of before them
    if other_columns is None:  # the row whole, less the key and the mapped columns
        others = sql.SQL("to_jsonb(t) - {}::text[]").format(sql.Literal([source.key, *source.columns.values()]))
    else:  # the other columns by name: the message is not turned into JSON only to be taken out again
        others = _json_object(other_columns)
    if "host" in source.columns:
        host = sql.Identifier(source.columns["host"])
        others = sql.SQL("{} || CASE WHEN t.{h} IS NOT NULL THEN jsonb_build_object('host', t.{h}::text) "
                         "ELSE '{{}}'::jsonb END").format(others, h=host)
    others = sql.SQL("{} || jsonb_build_object('source_key', t.{k}::bigint)").format(others, k=key)
    dedupe = sql.SQL("md5({} || chr(31) || t.{}::bigint::text)").format(sql.Literal(name), key)
    if source.watermark == "key":
        where, order, mark = sql.SQL("t.{k} > %(after_key)s").format(k=key), sql.SQL("t.{k}").format(k=key), sql.SQL("NULL::timestamptz")
    else:  # (ts, key) after the cursor, and not before the look-back start
        ts = sql.Identifier(source.columns["ts"])
        where = sql.SQL("t.{ts} >= %(since)s AND (t.{ts}, t.{k}) > (%(after_ts)s, %(after_key)s)").format(ts=ts, k=key)
        order, mark = sql.SQL("t.{ts}, t.{k}").format(ts=ts, k=key), sql.SQL("t.{ts}::timestamptz").format(ts=ts)
    return sql.SQL("SELECT t.{key}::bigint, {mapped}, ({others})::text, {mark}, {dedupe}, {canonical}, {pre_ok} "
                   "FROM {relation} t WHERE {where} ORDER BY {order} LIMIT %(limit)s").format(
        key=key, mapped=sql.SQL(", ").join(mapped), others=others, mark=mark, dedupe=dedupe, where=where, order=order,
        canonical=canonical, pre_ok=pre_ok, relation=source.relation())


def _from_hex(field_name: str, value: str | None, errors: list[str]) -> str | None:
    """A bytea column's value (hex) as text; invalid UTF-8 or a NUL byte is a quarantine reason
    naming the field (the text then has replacement characters, for the quarantined values)."""
    if value is None:
        return None
    text, problem = decode(bytes.fromhex(value))
    if problem:
        errors.append(f"{field_name} (bytea): {problem}")
        text = text.replace("\x00", "\ufffd")
    return text


def to_record(row: tuple, hex_fields: frozenset[str] = frozenset()) -> Record:
    """A source row as a Record (errors as quarantine reasons, the row's values as its raw bytes);
    the fields in `hex_fields` come from bytea columns, as hex."""
    key, ts, level, message, service, anomaly, host, rest = row[:8]
    errors: list[str] = []
    if hex_fields:
        values = dict(zip(FIELDS, (ts, level, message, service, anomaly, host)))
        values = {f: _from_hex(f, v, errors) if f in hex_fields else v for f, v in values.items()}
        ts, level, message, service, anomaly, host = (values[f] for f in FIELDS)
    attrs = json.loads(rest) if rest else {}
    if host is not None:
        attrs["host"] = host
    attrs["source_key"] = key
    rec = Record(key if 0 < key <= SOURCE_LINE_MAX else 0, b"", timestamp_field(ts, errors),
                 level_field(level, errors), message_field(message, errors), service_field(service, None, errors),
                 anomaly_field(anomaly, errors), attrs)
    size = sum(len(v.encode("utf-8", "surrogatepass")) for v in (message, rest) if v)
    limit = get_settings().max_record_bytes
    if size > limit:  # as for a file's record: LOGINTEL_MAX_RECORD_BYTES over the row's text
        errors.append(too_long_reason(size, limit, keep_bytes(limit)))
    if errors:
        values = {"key": key, "ts": ts, "level": level, "message": message, "service": service,
                  "is_anomaly": anomaly, **attrs}
        rec.raw = json.dumps(values, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")
        rec.error = "; ".join(errors)
    return rec


def extract(url: str, source: TableSource, chunk_rows: int = 50_000, max_chunks: int | None = None,
            progress: RowProgress | None = None) -> list[BatchResult]:
    """Extract the source's rows after its watermark into `url`, chunk by chunk; one batch each."""
    import psycopg

    name = source.name
    results: list[BatchResult] = []
    try:
        return _extract_chunks(url, source, name, chunk_rows, max_chunks, results, progress or RowProgress())
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn, psycopg.errors.InvalidSchemaName,
            psycopg.errors.SyntaxError) as exc:
        raise ExtractError(f"source {name}: {str(exc).splitlines()[0]}") from None


TIMESTAMP_TYPES = ("timestamp with time zone", "timestamp without time zone")


def _json_object(columns: list[str]):
    """jsonb_build_object of the columns of `t` (in groups: a function takes at most 100 arguments)."""
    from psycopg import sql

    parts = [sql.SQL("jsonb_build_object({})").format(sql.SQL(", ").join(
        sql.SQL("{}, t.{}").format(sql.Literal(c), sql.Identifier(c)) for c in columns[i:i + 40]))
        for i in range(0, len(columns), 40)]
    return sql.SQL(" || ").join(parts) if parts else sql.SQL("'{}'::jsonb")


def _source_columns(src, source: TableSource) -> dict[str, str]:
    """The source's columns and their types (as information_schema names them), in order: a table's
    from the catalog, a query's from its result description (it is run with LIMIT 0)."""
    from psycopg import sql

    if source.query is not None:
        cur = src.execute(sql.SQL("SELECT * FROM {} t LIMIT 0").format(source.relation()))
        described = [(d.name, d.type_code) for d in cur.description]
        types = {oid: src.execute("SELECT format_type(%s, NULL)", (oid,)).fetchone()[0] for _, oid in described}
        src.rollback()
        return {name: types[oid] for name, oid in described}
    schema, table = source.qualified.split(".", 1)
    rows = src.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s "
                       "AND table_name = %s ORDER BY ordinal_position", (schema, table)).fetchall()
    src.rollback()
    return dict(rows)


def _other_columns(columns: dict[str, str], source: TableSource) -> list[str] | None:
    """The source's columns other than its key and the mapped ones (None when none are known:
    then the row is taken whole)."""
    taken = {source.key, *source.columns.values()}
    return [n for n in columns if n not in taken] if columns else None


def _level_map() -> dict:
    from .levels import _CANONICAL
    from .sources.timestamps import MAX_YEAR, MIN_YEAR

    return {"spellings": list(_CANONICAL), "levels": list(_CANONICAL.values()),
            "min_year": MIN_YEAR, "max_year": MAX_YEAR, "max_bytes": get_settings().max_record_bytes}


def _extract_chunks(url: str, source: TableSource, name: str, chunk_rows: int, max_chunks: int | None,
                    results: list[BatchResult], progress: RowProgress) -> list[BatchResult]:
    from concurrent.futures import ThreadPoolExecutor

    from psycopg import sql

    checks = _level_map()
    with db.connect(source.url, options="-c TimeZone=UTC") as src, ThreadPoolExecutor(1) as reader:
        src.read_only = True  # the source is only ever read
        columns = _source_columns(src, source)
        ts_type = columns.get(source.columns["ts"])
        hex_fields = frozenset(f for f, column in source.columns.items()
                               if f != "ts" and columns.get(column) == "bytea")
        # a source with bytea columns takes the Python checks for every row (its bytes are decoded
        # there); so does one whose timestamp column is text (the parsers read its formats)
        checked = not hex_fields and ts_type in TIMESTAMP_TYPES
        copy_out = sql.SQL("COPY ({}) TO STDOUT").format(_select(source, ts_type, name, hex_fields, checked,
                                                                 _other_columns(columns, source)))
        cursor = _first_cursor(url, source, name)
        rules = {k: checks[k] for k in ("spellings", "levels", "min_year", "max_year")}  # the source's row checks
        # The next chunk is read from the source while this one is merged (one chunk ahead, so memory
        # stays at two chunks); a source error surfaces inside the batch that needed the rows.
        pending = reader.submit(_read_templated_chunk, src, copy_out, {**rules, **cursor, "limit": chunk_rows}, url)
        while pending is not None:
            with loading_batch(url, [name]) as (conn, result):
                chunk = pending.result()
                pending = None
                more = chunk.rows == chunk_rows and (max_chunks is None or len(results) + 1 < max_chunks)
                if more:
                    cursor.update(after_key=chunk.last_key, after_ts=chunk.last_mark or cursor["after_ts"])
                    pending = reader.submit(_read_templated_chunk, src, copy_out, {**rules, **cursor, "limit": chunk_rows}, url)
                read, last = _load_chunk(conn, chunk)
                _template_raw(conn, chunk)
                # rows as the parsers would take them go straight into logs (one statement); the
                # rest through the Python checks, staged and merged like file records
                fast = conn.execute(db.sql("extract/merge_checked"),
                                    {"max_bytes": checks["max_bytes"], "source": name, "batch_id": result.batch_id}).fetchone()
                repeats = last["repeats"]
                if fast[0] + len(fast[2]) + repeats != read:  # every row read is taken, checked in Python or a repeat
                    raise IngestError(f"{name}: read {read} rows but accounted for {fast[0] + len(fast[2]) + repeats}")
                result.read += fast[0] + repeats
                result.loaded += fast[1]
                # an ok row not inserted hit a stored dedupe key; a repeated key of the chunk is one too
                result.duplicates += fast[0] - fast[1] + repeats
                conn.execute("TRUNCATE ingest_stage")
                keys: set[str] = set()
                if fast[2]:
                    rest = conn.execute(db.sql("extract/unchecked"), {"keys": fast[2]}).fetchall()
                    db.copy_rows(conn, "ingest_stage", STAGE_COLUMNS,
                                 _stage_rows((to_record(r, hex_fields) for r in rest), name, {"read": 0},
                                             dedupe=lambda rec: _source_key(name, rec.attrs["source_key"]),
                                             keys=keys))
                merge_staged(conn, name, len(fast[2]), result, url=url, keys=keys)
                if read:
                    conn.execute(db.sql("extract/advance"), {"source": name, "last_key": last["max_key"],
                                                             "last_ts": last["max_mark"], "rows": read})
            if not read:
                _drop_empty_batch(url, result.batch_id)
                break
            results.append(result)
            progress.advance(read)
    return results


@dataclass
class SourceChunk:
    """One chunk as the source sent it (COPY text), and its last row's key and mark (the cursor of
    the next chunk: the rows come in watermark order)."""
    blocks: list[bytes]
    rows: int
    last_key: int | None = None
    last_mark: str | None = None  # the timestamp as the source rendered it (UTC), or None
    templates: list[tuple[str, int, float]] = field(default_factory=list)  # (message, catalog id, duration)


def _first_cursor(url: str, source: TableSource, name: str) -> dict:
    """Where the first chunk starts: after the stored watermark (minus the look-back for `ts`)."""
    from datetime import datetime, timedelta, timezone

    with db.connect(url) as conn:
        found = conn.execute(db.sql("extract/watermark"), {"source": name}).fetchone()
    last_key, last_ts = found if found else (0, None)
    since = (last_ts - timedelta(minutes=source.lookback_minutes)) if last_ts else datetime(1, 1, 1, tzinfo=timezone.utc)
    return {"after_key": last_key if source.watermark == "key" else -2**63, "after_ts": since, "since": since}


def _read_chunk(src, copy_out, params: dict) -> SourceChunk:
    """Read one chunk from the source (COPY TO STDOUT) into memory."""
    with src.cursor().copy(copy_out, params) as out:
        blocks = [bytes(block) for block in out]
    src.rollback()  # no snapshot held between chunks
    rows = sum(block.count(b"\n") for block in blocks)
    if not rows:
        return SourceChunk(blocks, 0)
    tail = blocks[-1]
    i = len(blocks) - 1
    while tail.count(b"\n") < 2 and i > 0:  # the last line may span blocks
        i -= 1
        tail = blocks[i] + tail
    fields = tail[:-1].rsplit(b"\n", 1)[-1].split(b"\t")  # COPY text escapes tabs inside values
    mark = fields[8]
    return SourceChunk(blocks, rows, int(fields[0]), None if mark == b"\\N" else mark.decode())


# COPY text escapes (COPY TO emits only these, never octal or hex ones)
_COPY_ESCAPES = {b"\\": b"\\", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"v": b"\v"}
_COPY_ESCAPE_RE = re.compile(rb"\\(.)", re.S)


def _read_templated_chunk(src, copy_out, params: dict, url: str) -> SourceChunk:
    """Read one chunk (the reader thread) and give its distinct messages their catalog ids there:
    the masking then runs while the previous chunk merges, not after it."""
    chunk = _read_chunk(src, copy_out, params)
    messages: set[str] = set()
    for block_line in b"".join(chunk.blocks).split(b"\n"):
        fields = block_line.split(b"\t", 4)
        if len(fields) < 5 or fields[3] == b"\\N":
            continue
        raw = fields[3]
        if b"\\" in raw:
            raw = _COPY_ESCAPE_RE.sub(lambda m: _COPY_ESCAPES.get(m.group(1), m.group(1)), raw)
        messages.add(raw.decode("utf-8", "replace"))
    ordered = sorted(messages)
    keys = thread_masker().keys(ordered)  # the reader thread's own
    ids = template_catalog.ensure_ids(url, keys)
    chunk.templates = [(m, ids[k], message_duration_ms(m)) for m, k in zip(ordered, keys)]
    return chunk


def _template_raw(conn, chunk: SourceChunk) -> None:
    """The chunk's messages, their catalog ids and durations into extract_templates, for merge_checked to join
    (a message the reader could not give an id keeps none: `logintel templates` does it later)."""
    conn.execute(db.sql("extract/templates_stage"))
    conn.execute("TRUNCATE extract_templates")
    db.copy_rows(conn, "extract_templates", ["message", "template_id", "message_duration_ms"], chunk.templates)
    # statistics for the merge's join on the message (a temp table has none: see ingest.merge_staged)
    conn.execute("ANALYZE extract_templates")


def _load_chunk(conn, chunk: SourceChunk) -> tuple[int, dict]:
    """Write a chunk into the temp table extract_raw (COPY FROM STDIN); returns the rows and the
    chunk's largest key and mark (the watermark it advances to)."""
    conn.execute(db.sql("extract/raw_stage"))
    conn.execute("TRUNCATE extract_raw")
    with conn.cursor().copy(
            "COPY extract_raw (key, ts, level, message, service, is_anomaly, host, rest, mark, dedupe, canonical, pre_ok) "
            "FROM STDIN") as into:
        for block in chunk.blocks:
            into.write(block)
    read, keys, max_key, max_mark = conn.execute(
        "SELECT count(*), count(DISTINCT key), max(key), max(mark) FROM extract_raw").fetchone()
    if read != chunk.rows:  # a line break inside a value would be escaped: this never differs
        raise IngestError(f"read {chunk.rows} source rows but staged {read}")
    repeats = 0
    if keys < read:  # a query or view whose key repeats: the first row of a key counts, the rest are duplicates
        repeats = conn.execute("DELETE FROM extract_raw a USING extract_raw b "
                               "WHERE a.key = b.key AND a.ctid > b.ctid").rowcount
    return read, {"max_key": max_key, "max_mark": max_mark, "repeats": repeats}


def _source_key(name: str, key: int) -> str:
    """The dedupe key of a source row: its table and key (as stage_clean.sql computes it)."""
    return hashlib.md5(f"{name}\x1f{key}".encode()).hexdigest()


def totals(results: list[BatchResult]) -> dict:
    """One extract's batches and counts, summed over its chunks."""
    return {"batches": [r.batch_id for r in results],
            **{k: sum(getattr(r, k) for r in results) for k in ("read", "loaded", "duplicates", "quarantined")}}


def _drop_empty_batch(url: str, batch_id: int) -> None:
    """A chunk that found nothing new leaves no batch behind (an empty run changes nothing)."""
    with db.transaction(url) as conn:
        conn.execute("DELETE FROM logintel.ingest_batches WHERE id = %s AND read_count = 0", (batch_id,))


__all__ = ["TableSource", "PRESETS", "mapping", "extract", "totals", "to_record", "ExtractError"]
