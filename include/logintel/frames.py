"""Read query results into pandas through COPY ... TO STDOUT (CSV): the fastest way out of Postgres."""
from __future__ import annotations

import io

import psycopg

LOG_DTYPES = {"id": "int64", "ts_us": "int64", "service": "str", "level": "str", "message": "str",
              "length_bin": "int64", "ingested_us": "int64", "template_id": "int64"}


def read_frame(conn: psycopg.Connection, query: str, params: dict | None = None, dtypes: dict | None = None):
    """Run `query` and return a DataFrame. Parameters are bound by psycopg (quoted safely),
    because COPY itself cannot take server-side bind parameters."""
    import pandas as pd

    from . import db

    bound = psycopg.ClientCursor(conn).mogrify(query, params) if params else query
    buf = io.BytesIO(db.copy_out(conn, f"COPY ({bound}) TO STDOUT WITH (FORMAT csv, HEADER true)"))
    # keep_default_na=False: a message "NA" or "null" is text, not a missing value.
    return pd.read_csv(buf, dtype=dtypes, keep_default_na=False)


def _template_keys(conn: psycopg.Connection, ids):
    """Each row's catalog key ('' for -1: not templated), looked up once per distinct template."""
    import numpy as np

    from . import db

    known = np.unique(ids[ids >= 0])
    keys = dict(conn.execute(db.sql("scoring/template_keys"), {"ids": known.tolist()}).fetchall()) if len(known) else {}
    values = np.array(["", *(keys[int(i)] for i in known)], dtype=object)
    return values[np.where(ids >= 0, np.searchsorted(known, ids) + 1, 0)]


def logs_query_params(lo: int, hi: int, model_version: str | None = None, every: int = 1,
                      corrected: bool = False) -> dict:
    """The parameters of sql/scoring/logs_selected.sql (read_logs)."""
    from .masking import MASKER_VERSION
    from .settings import get_settings

    return {"lo": lo, "hi": hi, "model_version": model_version, "every": max(1, int(every)), "corrected": corrected,
            "duration_attrs": get_settings().duration_attr_keys, "masker_version": MASKER_VERSION}


BUCKET_US = 300_000_000  # the features' 5-minute buckets, in microseconds
_BUCKET_ORIGIN_US = 946_684_800_000_000  # the buckets' origin, 2000-01-01 UTC
_HISTORY_US = 86_400_000_000  # the rates look back one day before the rows' span


def add_bucket_columns(conn: psycopg.Connection, frame, ts_us) -> None:
    """The anomaly model's bucket columns (ml.features.BUCKET_COLUMNS), in place: each row's counts of
    its service's lines / WARN / ERROR+FATAL lines in its 5-minute bucket, and the service's mean of
    those counts over its non-empty buckets from one day before the rows' first time to five
    minutes after their last (sql/scoring/bucket_counts.sql: every stored log of that span counts)."""
    import numpy as np
    import pandas as pd
    from datetime import datetime, timedelta, timezone

    from . import db

    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    params = {"t0": epoch + timedelta(microseconds=int(ts_us.min()) - _HISTORY_US),
              "t1": epoch + timedelta(microseconds=int(ts_us.max()) + BUCKET_US),
              "bucket": timedelta(microseconds=BUCKET_US), "origin": epoch + timedelta(microseconds=_BUCKET_ORIGIN_US)}
    counts = pd.DataFrame(conn.execute(db.sql("scoring/bucket_counts"), params).fetchall(),
                          columns=["service", "bucket_us", "n", "n_warn", "n_error"])
    # the mean per service over its buckets (PostgreSQL's avg: sum / count, then float8)
    rates = counts.groupby("service", sort=False)[["n", "n_warn", "n_error"]].mean()
    # each row's bucket: date_bin(BUCKET_US, ts, origin), on integers (floor division)
    bucket = _BUCKET_ORIGIN_US + (ts_us - _BUCKET_ORIGIN_US) // BUCKET_US * BUCKET_US
    at = pd.MultiIndex.from_arrays([frame["service"].to_numpy(dtype=object), bucket])
    # (a row whose bucket has no count: the row went between the two reads, e.g. dropped by retention;
    # no lines then, rather than a failed chunk)
    per_bucket = counts.set_index(["service", "bucket_us"]).reindex(at).fillna(0)
    per_service = rates.reindex(frame["service"].to_numpy(dtype=object)).fillna(0.0)
    for column, source in (("bucket_total", "n"), ("bucket_warn", "n_warn"), ("bucket_error", "n_error")):
        frame[column] = per_bucket[source].to_numpy(np.int64)
    for column, source in (("svc_rate_total", "n"), ("svc_rate_warn", "n_warn"), ("svc_rate_error", "n_error")):
        frame[column] = per_service[source].to_numpy(np.float64)


def read_logs(conn: psycopg.Connection, lo: int, hi: int, model_version: str | None = None, every: int = 1,
              corrected: bool = False):
    """Logs with id in [lo, hi] (in id order) and their bucket features; only unscored ones when
    model_version is given; only ids divisible by `every` (a sample) when every > 1; with
    `corrected`, the confirmed label corrections instead of the recorded levels (training)."""
    import numpy as np
    import pandas as pd
    from . import db

    frame = read_frame(conn, db.sql("scoring/logs_selected").rstrip().rstrip(";"),
                       logs_query_params(lo, hi, model_version, every, corrected), dtypes=LOG_DTYPES)
    if frame.empty:
        frame = frame.drop(columns="ts_us")
        frame.insert(1, "ts", pd.Series(dtype="datetime64[ns, UTC]"))
        for column in ("bucket_total", "bucket_warn", "bucket_error"):
            frame[column] = pd.Series(dtype="int64")
        for column in ("svc_rate_total", "svc_rate_warn", "svc_rate_error"):
            frame[column] = pd.Series(dtype="float64")
        return frame.assign(template_key=pd.Series(dtype="str"))
    ids = frame["id"].to_numpy()
    if (np.diff(ids) < 0).any():  # the server returns them in storage order
        frame = frame.iloc[np.argsort(ids, kind="stable")].reset_index(drop=True)
    ts_us = frame.pop("ts_us").to_numpy(np.int64)
    add_bucket_columns(conn, frame, ts_us)
    frame["template_key"] = _template_keys(conn, frame["template_id"].to_numpy())
    frame.insert(1, "ts", pd.to_datetime(ts_us, unit="us", utc=True))
    # CSV carries booleans as t/f and NULL as empty.
    frame["is_anomaly"] = frame["is_anomaly"].map({"t": True, "f": False, "": pd.NA}).astype("boolean")
    frame["attr_duration_ms"] = pd.to_numeric(frame["attr_duration_ms"], errors="coerce").astype("float32")
    frame["line_duration_ms"] = pd.to_numeric(frame["line_duration_ms"], errors="coerce").astype("float32")
    return frame
