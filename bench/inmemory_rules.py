"""In-memory copies of rules whose production home is SQL, for the research harness only.

The pipeline counts template statistics in ``sql/findings/template_level_stats.sql`` and
applies the anomaly rule in the view ``v_prediction_checks`` (migration 005); the research
harness (bench/detect_research.py) runs without a database, so it keeps these copies.
Tests check the SQL itself (tests/integration/test_sql_rules.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from logintel.vocab import PROB_COLUMNS


def template_stats(template_keys, levels) -> pd.DataFrame:
    """(template_key, level, n) over the given rows, like ``sql/findings/template_level_stats.sql``."""
    frame = pd.DataFrame({"template_key": np.asarray(template_keys, dtype=object),
                          "level": np.asarray(levels, dtype=object)})
    return frame.groupby(["template_key", "level"], sort=False).size().rename("n").reset_index()


def anomaly_verdicts(df: pd.DataFrame, *, false_anomaly_below: float = 0.02) -> pd.DataFrame:
    """Rows whose ``is_anomaly`` flag disagrees with the model.

    ``df`` needs ``is_anomaly``, ``predicted_anomaly`` and ``anomaly_score``
    (as returned by :func:`logintel.ml.predict`, joined to the logs).

    * ``missed_anomaly``: flag False but ``predicted_anomaly`` True (the model's
      threshold was chosen out-of-fold for precision, see :mod:`logintel.ml.anomaly_model`).
    * ``false_anomaly``: flag True, not predicted and ``anomaly_score`` below
      ``false_anomaly_below`` (only when the model is nearly sure).

    Returns a frame indexed like the matching rows of ``df`` with columns
    ``kind, suggested, confidence, reason`` (plus ``id`` / ``template_key`` when present).
    """
    flag = df["is_anomaly"]
    known = flag.notna().to_numpy()
    f = np.zeros(len(df), dtype=bool)
    f[known] = flag[known].astype(bool).to_numpy()
    pred = df["predicted_anomaly"].astype(bool).to_numpy()
    score = df["anomaly_score"].astype(float).to_numpy()
    missed = known & ~f & pred
    false = known & f & ~pred & (score < false_anomaly_below)
    sel = missed | false
    out = pd.DataFrame(index=df.index[sel])
    for c in ("id", "template_key"):
        if c in df.columns:
            out[c] = df[c].to_numpy()[sel]
    kind = np.where(missed[sel], "missed_anomaly", "false_anomaly")
    out["kind"] = kind
    out["suggested"] = missed[sel]
    s = score[sel]
    out["confidence"] = np.where(missed[sel], s, 1.0 - s)
    out["reason"] = [
        (f"not flagged, but the anomaly model scores it {v:.2f}" if k == "missed_anomaly"
         else f"flagged, but the anomaly model scores it only {v:.3f}")
        for k, v in zip(kind, s)
    ]
    return out
