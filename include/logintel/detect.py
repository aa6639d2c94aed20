"""Decision rules: template statistics + out-of-group model probabilities -> findings.

See :func:`level_verdicts` for the level rules and their thresholds, and
:func:`anomaly_verdicts` for anomaly flags.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

try:
    from .levels import LEVEL_RANK, LEVELS
except Exception:  # pragma: no cover
    LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "FATAL")
    LEVEL_RANK = {lv: i for i, lv in enumerate(LEVELS)}

__all__ = ["level_verdicts", "anomaly_verdicts", "template_stats", "template_probs_from_predictions",
           "VERDICT_COLUMNS", "ANOMALY_COLUMNS"]

PROB_COLUMNS = [f"p_{lv}" for lv in LEVELS]
VERDICT_COLUMNS = ["template_key", "level", "kind", "suggested_level", "confidence", "reason"]
ANOMALY_COLUMNS = ["kind", "suggested", "confidence", "reason"]
N_LEVELS = len(LEVELS)


def _short(key: str, width: int = 80) -> str:
    key = str(key)
    return key if len(key) <= width else key[: width - 1] + "\u2026"


def template_stats(template_keys, levels) -> pd.DataFrame:
    """(template_key, level, n) over the given rows, like ``sql/template_level_stats.sql``."""
    frame = pd.DataFrame({"template_key": np.asarray(template_keys, dtype=object),
                          "level": np.asarray(levels, dtype=object)})
    return frame.groupby(["template_key", "level"], sort=False).size().rename("n").reset_index()


def template_probs_from_predictions(pred: pd.DataFrame) -> pd.DataFrame:
    """One row per template_key: mean p_* over its rows and n_total (what the SQL can do too)."""
    g = pred.groupby("template_key", sort=False)
    out = g[PROB_COLUMNS].mean()
    out["n_total"] = g.size()
    return out.reset_index()


def _pivot(stats: pd.DataFrame):
    """Counts matrix [template, level] from the (template_key, level, n) rows."""
    st = stats[stats["level"].isin(LEVELS)]
    keys, codes = np.unique(st["template_key"].astype(str).to_numpy(dtype=object), return_inverse=True)
    lv = st["level"].map({lv: i for i, lv in enumerate(LEVELS)}).to_numpy(np.int64)
    counts = np.zeros((len(keys), N_LEVELS), dtype=np.int64)
    np.add.at(counts, (codes, lv), st["n"].to_numpy(np.int64))
    return keys, counts


def _probs_for(keys: np.ndarray, template_probs: pd.DataFrame | None) -> np.ndarray:
    """Align p_* to keys (weighted mean if a key has several rows); NaN where unknown."""
    out = np.full((len(keys), N_LEVELS), np.nan)
    if template_probs is None or len(template_probs) == 0:
        return out
    tp = template_probs
    if tp["template_key"].duplicated().any():
        w = tp["n_total"].astype(float) if "n_total" in tp.columns else pd.Series(1.0, index=tp.index)
        num = tp[PROB_COLUMNS].mul(w, axis=0).groupby(tp["template_key"]).sum()
        den = w.groupby(tp["template_key"]).sum()
        tp = num.div(den, axis=0).reset_index()
    m = tp.set_index(tp["template_key"].astype(str))[PROB_COLUMNS]
    aligned = m.reindex(keys)
    return aligned.to_numpy(np.float64)


def level_verdicts(stats: pd.DataFrame, template_probs: pd.DataFrame | None = None, *,
                   min_support: int = 2, consistency: float = 0.8, model_confidence: float = 0.9,
                   ) -> pd.DataFrame:
    """Findings per (template_key, recorded level): levels that are wrong.

    ``stats``: one row per (template_key, level) with ``n`` lines (over all
    scored logs).  ``template_probs``: one row per template_key with the
    out-of-group ``p_DEBUG`` .. ``p_FATAL`` (and optionally ``n_total``).

    Rules (precision first)
    -----------------------
    1. Template consistency (leave-one-out).  For a line recorded at level ``r``
       the other ``N - 1`` lines of its template are counted; if at least
       ``min_support`` of them exist and a share >= ``consistency`` of them share
       one other level ``M``, every line at ``r`` is a finding suggesting ``M``.
    2. Call-site model.  For a template whose lines all share one level ``L``
       the out-of-group model (never trained on this template) must read the
       wording as a MORE severe level with probability >= ``model_confidence``
       -> ``level_understated``.

    Returns columns ``template_key, level, kind, suggested_level, confidence, reason``.
    """
    keys, counts = _pivot(stats)
    probs = _probs_for(keys, template_probs)
    N = counts.sum(1)
    rows = []
    for t in range(len(keys)):
        c = counts[t]
        n = int(N[t])
        present = np.nonzero(c)[0]
        p = probs[t]
        key = keys[t]
        if len(present) >= 2:
            for r in present:
                others = c.copy()
                others[r] -= 1
                n_oth = n - 1
                if n_oth < min_support:
                    continue
                m = int(np.argmax(others))
                if m == r:
                    continue
                share = others[m] / n_oth
                if share < consistency:
                    continue
                conf = (others[m] + 1.0) / (n_oth + 2.0)
                kind = "level_understated" if m > r else "level_overstated"
                reason = (f'{int(others[m])} of {n_oth} other lines of "{_short(key)}" are {LEVELS[m]}'
                          f' ({int(c[r])} recorded as {LEVELS[r]})')
                rows.append((key, LEVELS[r], kind, LEVELS[m], float(conf), reason))
        elif len(present) == 1 and not np.isnan(p).any():
            r = int(present[0])
            m = int(np.argmax(p))
            if m > r and p[m] >= model_confidence:
                which = "every line" if n > 1 else "the only line"
                reason = (f'{which} of "{_short(key)}" is {LEVELS[r]} ({n} lines), but its wording '
                          f'reads as {LEVELS[m]} (p={p[m]:.2f}, model never trained on this template)')
                rows.append((key, LEVELS[r], "level_understated", LEVELS[m], float(p[m]), reason))
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def anomaly_verdicts(df: pd.DataFrame, *, false_anomaly_below: float = 0.02) -> pd.DataFrame:
    """Rows whose ``is_anomaly`` flag disagrees with the model.

    ``df`` needs ``is_anomaly``, ``predicted_anomaly`` and ``anomaly_score``
    (as returned by :func:`logintel.model.predict`, joined to the logs).

    * ``missed_anomaly``: flag False but ``predicted_anomaly`` True (the model's
      threshold was chosen out-of-fold for precision, see :mod:`logintel.model`).
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
