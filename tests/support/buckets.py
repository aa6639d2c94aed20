"""A pandas copy of the bucket features the pipeline computes in SQL
(``include/logintel/sql/scoring/bucket_counts.sql``), for in-memory tests and the
research bench (bench/detect_research.py).  tests/integration/test_bucket_features_sql.py
checks that both agree.

* bucket = the 5-minute bin of ``ts`` (UTC, aligned to 00:00);
* ``bucket_total`` / ``bucket_warn`` / ``bucket_error``: lines / WARN lines /
  ERROR+FATAL lines of the row's service in the row's bucket;
* ``svc_rate_total`` / ``svc_rate_warn`` / ``svc_rate_error``: the mean of those counts
  over the service's non-empty buckets in the data.

The SQL counts every stored log of the span (plus one day of history); this copy counts
the rows it is given, so the two agree when the frame holds all logs of the span.
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def add_bucket_columns(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with the six bucket columns added (replaced if present)."""
    out = df.copy()
    ts = pd.to_datetime(out["ts"], utc=True)
    bucket = ts.dt.floor("5min")
    svc = out["service"].fillna("").astype(str)
    lvl = out["level"].astype(str)
    tmp = pd.DataFrame({
        "svc": svc.to_numpy(), "bucket": bucket.to_numpy(),
        "w": (lvl == "WARN").to_numpy(np.int64),
        "e": lvl.isin(["ERROR", "FATAL"]).to_numpy(np.int64),
    })
    g = tmp.groupby(["svc", "bucket"], sort=False)
    per = g.agg(n=("w", "size"), n_warn=("w", "sum"), n_error=("e", "sum"))
    idx = pd.MultiIndex.from_arrays([tmp["svc"], tmp["bucket"]])
    aligned = per.reindex(idx)
    out["bucket_total"] = aligned["n"].to_numpy(np.int64)
    out["bucket_warn"] = aligned["n_warn"].to_numpy(np.int64)
    out["bucket_error"] = aligned["n_error"].to_numpy(np.int64)
    rates = per.groupby(level="svc").mean()
    r = rates.reindex(tmp["svc"])
    out["svc_rate_total"] = r["n"].to_numpy(np.float64)
    out["svc_rate_warn"] = r["n_warn"].to_numpy(np.float64)
    out["svc_rate_error"] = r["n_error"].to_numpy(np.float64)
    return out
