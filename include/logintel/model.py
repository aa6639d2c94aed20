"""Level and anomaly models: train, save, load, predict.

Level model ("what does this message's wording read as?")
---------------------------------------------------------
* Unit of training: one row per distinct (template_key, service).  Its label is
  the template's MAJORITY recorded level (by line count) and its weight is
  ``1 + log(lines)`` (log-damped), so scattered wrong labels - the thing we
  hunt - barely move the model, and a million lines train in seconds.
* Features: TF-IDF of the masked template's words (1-2 grams), TF-IDF of
  character 3-5 grams inside words (so ``fail``/``failed``/``failure`` share
  evidence across templates) and a one-hot service token (the service's own
  level habits).  Classifier: multinomial LogisticRegression.
* OUT-OF-GROUP probabilities: GroupKFold by template key (5 folds).  For every
  template seen in training, the stored probabilities come from a model that
  never saw that template (in any service), so the model never vouches for the
  labels it was trained on.  They are computed once at training time and kept
  in the bundle; :func:`predict` looks them up.  Templates never seen in
  training are scored by the model fitted on all templates.
* Probabilities are then (1) shrunk towards uniform with weight
  ``SHRINK_ALPHA / (n + SHRINK_ALPHA)``, n = training templates of the
  service (13 INFO-only templates do not make WARN impossible), (2) multiplied
  by a small hand-written severity lexicon (:func:`wording_prior`: generic log
  vocabulary such as "exception", "refused", "out of memory"; it transfers to
  systems with few templates and is not learned from any data) and (3)
  calibrated by a temperature fitted on the training templates' out-of-group
  predictions (>= 20 templates).
* Held-out metrics: the out-of-group predictions against the recorded levels,
  per line (weighted by line count), i.e. a template-grouped split: per-level
  precision/recall and macro F1 (over levels present).

Anomaly model
-------------
* Supervised (``HistGradientBoostingClassifier``) on the ``is_anomaly`` flags
  when the data has at least :data:`MIN_ANOMALY_POSITIVES` flagged and as many
  unflagged lines.  Row features: recorded level rank, template frequency,
  the template's anomaly share in training (leave-one-out: the row's own flag
  removed, smoothed towards the global rate), the model's out-of-group
  severity reading of the template, and the 5-minute bucket counts relative to
  the service's rate (error burst, warn spike, volume).
* The decision threshold is chosen on OUT-OF-FOLD scores (3-fold) of the
  training rows, maximising F0.5 (precision first).  The bundle keeps the
  out-of-fold score of every row the fold models were fitted on (by log id)
  and :func:`predict` returns that score for those ids, so a row whose flag
  was cleared in training (what we hunt) is judged by a model that did not
  see it; rows outside the fit sample were never seen by any model.  The
  final score is the mean of the three fold models.  Held-out anomaly metrics
  are the out-of-fold scores.  Training is bounded: all flagged rows plus a
  weighted sample of the others, :data:`ANOMALY_FIT_MAX_ROWS` in all.
* ``false_anomaly_below`` (in ``bundle.params``): half the 0.5th percentile of
  the out-of-fold scores of flagged lines, at most 0.02; the findings view
  calls a flagged line a false anomaly only below it.
* No flags at all (e.g. loghub): unsupervised fallback.  ``anomaly_score`` is
  a rarity + error-burst score in [0, 1]; ``predicted_anomaly`` is True only
  when the score is >= :data:`UNSUPERVISED_THRESHOLD` (very strong).

Bucket features: see :func:`add_bucket_columns` (the pipeline computes the
same columns in SQL, ``sql/scoring/logs_with_buckets.sql``).
"""

from __future__ import annotations

import os
import re as _re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .hashing import file_sha256
from .masking import TemplateMasker

from .levels import LEVEL_RANK, LEVELS

__all__ = [
    "LEVELS", "LEVEL_RANK", "PROB_COLUMNS", "ModelBundle", "ArtifactError",
    "train", "predict", "template_probabilities", "save", "load",
    "add_bucket_columns", "template_keys",
]

PROB_COLUMNS = tuple(f"p_{lv}" for lv in LEVELS)
N_LEVELS = len(LEVELS)
BUNDLE_FORMAT = 1

MIN_ANOMALY_POSITIVES = 20
UNSUPERVISED_THRESHOLD = 0.995
ANOMALY_FIT_MAX_ROWS = 40_000  # training rows for the anomaly model (all flagged + a weighted sample)
OOG_FOLDS = 5
LR_C = 2.0

ANOMALY_FEATURES = (
    "level_rank", "log_template_n", "template_anom_share", "template_severity",
    "rank_gap", "log_err_ratio", "log_warn_ratio", "log_total_ratio", "log_template_share",
)

_MASKER = TemplateMasker(maxsize=500_000)


class ArtifactError(RuntimeError):
    """A model artifact is missing, unreadable or fails its checksum."""


@dataclass
class ModelBundle:
    """Everything scoring needs (joblib-serialisable)."""

    version: str = ""
    levels: tuple = LEVELS
    created_at: str = ""
    sklearn_version: str = ""
    # level model
    word_vec: Any = None
    char_vec: Any = None
    char_weight: float = 0.5
    services: dict = field(default_factory=dict)        # service -> column index
    level_clf: Any = None
    level_classes: np.ndarray | None = None            # indices into LEVELS of clf.classes_
    level_prior: np.ndarray | None = None               # used when no classifier could be fit
    # per (template_key, service) seen in training
    pair_index: dict = field(default_factory=dict)      # (key, service) -> row in the arrays below
    oog_probs: np.ndarray | None = None                 # float32 [n_pairs, 5], out-of-group
    pair_n: np.ndarray | None = None                    # lines in training
    pair_anom: np.ndarray | None = None                 # flagged lines in training
    pair_flag_n: np.ndarray | None = None               # lines with a known flag
    service_n: dict = field(default_factory=dict)       # service -> lines in training
    service_templates: dict = field(default_factory=dict)  # service -> templates in training
    temperature: float = 1.0                            # calibration of the level probabilities
    calibrator: Any = None                              # ... or a logistic map on log-probabilities
    anomaly_oof_ids: np.ndarray | None = None           # log ids the anomaly model was fitted on ...
    anomaly_oof_scores: np.ndarray | None = None        # ... and their out-of-fold scores
    false_anomaly_below: float = 0.0                    # anomaly_score cut for 'false_anomaly' findings
    # anomaly model
    anomaly_mode: str = "unsupervised"                  # 'supervised' | 'unsupervised'
    anomaly_clf: Any = None
    anomaly_threshold: float = UNSUPERVISED_THRESHOLD
    anomaly_prior: float = 0.0
    params: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- helpers

def template_keys(messages) -> list[str]:
    """Template keys with the module's shared cache (see :mod:`logintel.masking`)."""
    return _MASKER.keys(messages)


_LEVEL_CODE = {lv: i for i, lv in enumerate(LEVELS)}


def _level_codes(levels: pd.Series) -> np.ndarray:
    """Level strings -> 0..4 (case-insensitive; unknown/NA -> -1)."""
    codes, uniq = pd.factorize(levels.to_numpy(dtype=object), use_na_sentinel=True)
    table = np.array([_LEVEL_CODE.get(str(u).upper(), -1) for u in uniq] + [-1], dtype=np.int64)
    return table[codes]


def add_bucket_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Add the six bucket columns the anomaly model reads, computed in pandas.

    Same definition as the pipeline's SQL (``sql/scoring/logs_with_buckets.sql``):

    * bucket = the 5-minute bin of ``ts`` (UTC, aligned to 00:00);
    * ``bucket_total`` / ``bucket_warn`` / ``bucket_error``: lines / WARN lines /
      ERROR+FATAL lines of the row's service in the row's bucket;
    * ``svc_rate_total`` / ``svc_rate_warn`` / ``svc_rate_error``: the mean of those
      counts over the service's non-empty buckets in the data.

    Returns a copy of ``df`` with the columns added (replaced if present).
    """
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


# ----------------------------------------------------------------------------- wording prior
# A small hand-written severity lexicon (generic log vocabulary, not learned from
# any data set).  It gives the level model knowledge that transfers to systems
# with few templates: "exception", "failed", "refused" do not read as DEBUG,
# "panic" / "out of memory" read as FATAL.  Used as a second expert: the final
# level probabilities are the normalised product p_model * p_lexicon**LEXICON_POWER.
_CUES = {
    "fatal": _re.compile(
        r"\b(?:fatal|panic(?:ked)?|out of memory|oom|segfault|segmentation fault|core dumped|unrecoverable|"
        r"shutting down|aborting|emergency|kernel|corrupt(?:ed|ion)?|data loss|crash(?:ed|ing)?)\b", _re.I),
    "error": _re.compile(
        r"(?<!\bno )(?<!\b0 )\b(?:errors?|exceptions?|\w*exception|fail(?:s|ed|ure|ures|ing)?|cannot|can't|could not|"
        r"couldn't|unable|refused|denied|timed out|timeout|invalid|unreachable|unavailable|not found|lost|"
        r"broken|rejected|unexpected|no route|giving up|gave up|killed|abort(?:ed)?|mismatch|violation|"
        r"deadlock|unhandled|illegal)\b", _re.I),
    "warn": _re.compile(
        r"\b(?:warn(?:ing)?s?|deprecated|retry(?:ing)?|retries|slow(?:ly)?|exceed(?:ed|s)?|too (?:many|large|long|"
        r"slow)|throttl\w*|dropp?(?:ed|ing)|skipp?(?:ed|ing)|degraded|interrupted|expir(?:ed|ing|es)|"
        r"not running|fallback|falling back|lag|backlog|high|low|limit(?:ed)?|blocked|stale|"
        r"retried|recover(?:ing|ed)?)\b", _re.I),
    "ok": _re.compile(
        r"\b(?:success(?:ful(?:ly)?)?|succeeded|started|starting|completed?|done|ok|ready|listening|"
        r"connected|established|registered|loaded|initiali[sz]ed|created|finished|accepted|received|"
        r"sent|processed|stored|updated|saved|opened|closed|healthy)\b", _re.I),
    "debug": _re.compile(r"\b(?:debug|trace|tracing|entering|leaving|dump(?:ing)?|cache hit|hit|"
                         r"validated|routing|polling|heartbeat)\b", _re.I),
}
# profile per cue class over DEBUG, INFO, WARN, ERROR, FATAL
_CUE_PROFILE = {
    "fatal": np.array([0.004, 0.03, 0.10, 0.36, 0.506]),
    "error": np.array([0.01, 0.12, 0.33, 0.46, 0.08]),
    "warn": np.array([0.03, 0.27, 0.50, 0.17, 0.03]),
    "ok": np.array([0.25, 0.58, 0.10, 0.05, 0.02]),
    "debug": np.array([0.55, 0.35, 0.06, 0.03, 0.01]),
    "none": np.full(5, 0.2),
}
LEXICON_POWER = 1.0
PROB_FLOOR = 0.002


def wording_prior(keys) -> np.ndarray:
    """Lexicon probabilities [n, 5] for template keys (uniform when no cue word)."""
    out = np.empty((len(keys), N_LEVELS), dtype=np.float64)
    for i, k in enumerate(keys):
        k = k.replace("<*>", " ")
        prof = None
        for cls in ("fatal", "error", "warn"):
            if _CUES[cls].search(k):
                prof = _CUE_PROFILE[cls]
                break
        if prof is None:
            if _CUES["debug"].search(k):
                prof = _CUE_PROFILE["debug"]
            elif _CUES["ok"].search(k):
                prof = _CUE_PROFILE["ok"]
            else:
                prof = _CUE_PROFILE["none"]
        out[i] = prof
    return out


def combine_with_prior(p_model: np.ndarray, keys, power: float | None = None) -> np.ndarray:
    """Product of experts: (p_model floored) * lexicon**power, renormalised."""
    power = LEXICON_POWER if power is None else power
    p = (np.asarray(p_model, dtype=np.float64) + PROB_FLOOR) / (1 + N_LEVELS * PROB_FLOOR)
    if power:
        p = p * wording_prior(list(keys)) ** power
    return p / p.sum(1, keepdims=True)


# A logistic calibration map on log-probabilities was tried: it lowered recall on
# mixed templates (bench/detect_research.py) and did not make call-site findings
# precise, so it is off by default (None); temperature scaling is used instead.
CALIBRATION_MIN_TEMPLATES: int | None = None


def _fit_calibrator(p: np.ndarray, y: np.ndarray, w: np.ndarray, seed: int):
    if CALIBRATION_MIN_TEMPLATES is None or len(y) < CALIBRATION_MIN_TEMPLATES or len(np.unique(y)) < 2:
        return None
    from sklearn.linear_model import LogisticRegression

    cal = LogisticRegression(C=1.0, max_iter=500, random_state=seed)
    cal.fit(np.log(np.clip(p, 1e-6, 1.0)), y, sample_weight=w)
    return cal


def _calibrate(bundle: ModelBundle, p: np.ndarray) -> np.ndarray:
    if len(p) == 0:
        return p
    cal = getattr(bundle, "calibrator", None)
    if cal is None:
        return _apply_temperature(p, bundle.temperature)
    out = np.zeros_like(p, dtype=np.float64)
    out[:, cal.classes_.astype(np.int64)] = cal.predict_proba(np.log(np.clip(p, 1e-6, 1.0)))
    out = (out + PROB_FLOOR) / (1 + N_LEVELS * PROB_FLOOR)
    return out / out.sum(1, keepdims=True)


def _apply_temperature(p: np.ndarray, temperature: float) -> np.ndarray:
    if temperature == 1.0 or len(p) == 0:
        return p
    q = np.power(np.clip(p, 1e-12, 1.0), 1.0 / temperature)
    return q / q.sum(1, keepdims=True)


def _fit_temperature(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Temperature T minimising the weighted log loss of p**(1/T) on the out-of-group
    predictions of the training templates (T > 1 flattens an overconfident model).
    Needs >= 20 templates; clipped to [0.5, 4]."""
    if len(y) < 20:
        return 1.0
    from scipy.optimize import minimize_scalar

    logp = np.log(np.clip(p, 1e-12, 1.0))
    idx = np.arange(len(y))

    def nll(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z = z - z.max(1, keepdims=True)
        lse = np.log(np.exp(z).sum(1))
        return float((w * (lse - z[idx, y])).sum())

    res = minimize_scalar(nll, bounds=(np.log(0.5), np.log(4.0)), method="bounded")
    return float(np.exp(res.x))


def _text_of(keys) -> list[str]:
    return [k.replace("<*>", " ") for k in keys]


def _make_vectorizers():
    from sklearn.feature_extraction.text import TfidfVectorizer

    word = TfidfVectorizer(lowercase=True, token_pattern=r"(?u)\b[A-Za-z][A-Za-z]+\b",
                           ngram_range=(1, 2), min_df=1, sublinear_tf=True, dtype=np.float32)
    char = TfidfVectorizer(lowercase=True, analyzer="char_wb", ngram_range=(3, 5), min_df=2,
                           sublinear_tf=True, dtype=np.float32, max_features=50_000)
    return word, char


def _features(bundle: ModelBundle, keys, services):
    import scipy.sparse as sp

    text = _text_of(keys)
    blocks = [bundle.word_vec.transform(text)]
    if bundle.char_vec is not None:
        blocks.append(bundle.char_vec.transform(text) * bundle.char_weight)
    n = len(text)
    cols = np.array([bundle.services.get(s, -1) for s in services], dtype=np.int64)
    ok = cols >= 0
    svc = sp.csr_matrix((np.ones(ok.sum(), dtype=np.float32), (np.nonzero(ok)[0], cols[ok])),
                        shape=(n, max(1, len(bundle.services))))
    blocks.append(svc)
    return sp.hstack(blocks, format="csr")


def _fit_lr(X, y, w, seed: int):
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(C=LR_C, max_iter=1000, random_state=seed)
    clf.fit(X, y, sample_weight=w)
    return clf


def _proba_full(clf, classes: np.ndarray, X) -> np.ndarray:
    """predict_proba mapped onto all five levels (absent classes get 0)."""
    out = np.zeros((X.shape[0], N_LEVELS), dtype=np.float64)
    out[:, classes] = clf.predict_proba(X)
    return out


SHRINK_ALPHA = 5.0  # pseudo-templates of a uniform level distribution mixed into the model's output


def _shrink(p: np.ndarray, n_templates: np.ndarray) -> np.ndarray:
    """Temper probabilities learned from few templates: mix in a uniform distribution
    with weight alpha / (n + alpha), n = training templates of the row's service
    (Laplace's rule of succession: 13 INFO-only templates do not make WARN impossible)."""
    lam = SHRINK_ALPHA / (np.asarray(n_templates, dtype=np.float64) + SHRINK_ALPHA)
    return (1 - lam)[:, None] * p + lam[:, None] / N_LEVELS


def _prior_from(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    p = np.bincount(y, weights=w, minlength=N_LEVELS).astype(np.float64)
    p += 1e-3
    return p / p.sum()


def _level_probs_full(bundle: ModelBundle, keys, services) -> np.ndarray:
    """Probabilities of the model fitted on all templates (for unseen templates)."""
    if not len(keys):
        return np.zeros((0, N_LEVELS))
    n_svc = np.array([bundle.service_templates.get(s, 0) for s in services], dtype=np.float64)
    if bundle.level_clf is None:
        p = np.tile(bundle.level_prior, (len(keys), 1))
    else:
        X = _features(bundle, keys, services)
        p = _proba_full(bundle.level_clf, bundle.level_classes, X)
    return _calibrate(bundle, combine_with_prior(_shrink(p, n_svc), keys))


# ----------------------------------------------------------------------------- training

def _pair_table(keys: np.ndarray, services: np.ndarray, lvl: np.ndarray, flags: np.ndarray):
    """Distinct (key, service): counts per level, lines, flagged lines, known flags."""
    frame = pd.DataFrame({"k": keys, "s": services, "l": lvl, "a": flags})
    pair_codes, uniq = pd.MultiIndex.from_arrays([frame["k"], frame["s"]]).factorize()
    n_pairs = len(uniq)
    counts = np.zeros((n_pairs, N_LEVELS), dtype=np.int64)
    valid = lvl >= 0
    np.add.at(counts, (pair_codes[valid], lvl[valid]), 1)
    n = np.bincount(pair_codes, minlength=n_pairs)
    known = flags >= 0
    anom = np.bincount(pair_codes[known], weights=(flags[known] == 1).astype(np.float64), minlength=n_pairs)
    flag_n = np.bincount(pair_codes[known], minlength=n_pairs)
    return pair_codes, uniq, counts, n, anom, flag_n


def _flags_array(df: pd.DataFrame) -> np.ndarray:
    """is_anomaly -> 1 / 0 / -1 (unknown)."""
    if "is_anomaly" not in df.columns:
        return np.full(len(df), -1, dtype=np.int8)
    s = df["is_anomaly"]
    known = s.notna().to_numpy()
    out = np.full(len(df), -1, dtype=np.int8)
    vals = s[known].astype(bool).to_numpy()
    out[known] = vals.astype(np.int8)
    return out


def _per_level_metrics(y_true: np.ndarray, y_pred: np.ndarray, w: np.ndarray) -> dict:
    out: dict = {"per_level": {}}
    f1s = []
    for i, lv in enumerate(LEVELS):
        tp = float(w[(y_true == i) & (y_pred == i)].sum())
        n_pred = float(w[y_pred == i].sum())
        n_true = float(w[y_true == i].sum())
        if n_true == 0 and n_pred == 0:
            continue
        p = tp / n_pred if n_pred else 0.0
        r = tp / n_true if n_true else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        out["per_level"][lv] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4),
                                "support": int(n_true)}
        if n_true:
            f1s.append(f1)
    out["macro_f1"] = round(float(np.mean(f1s)), 4) if f1s else 0.0
    out["accuracy"] = round(float(w[y_true == y_pred].sum() / max(w.sum(), 1)), 4)
    return out


def _anomaly_matrix(level_rank, pair_rows, bundle_like, flags_own, df_b, loo: bool) -> np.ndarray:
    """Row features for the anomaly model (see ANOMALY_FEATURES)."""
    n_pair = bundle_like["pair_n"].astype(np.float64)
    anom = bundle_like["pair_anom"].astype(np.float64)
    flag_n = bundle_like["pair_flag_n"].astype(np.float64)
    prior = bundle_like["prior"]
    sev_p = bundle_like["severity"]          # per pair: expected rank from out-of-group probs
    svc_share = bundle_like["svc_share"]     # per pair: log(template lines / service lines)
    seen = pair_rows >= 0
    pr = np.where(seen, pair_rows, 0)
    n_t = np.where(seen, n_pair[pr], 0.0)
    a_t = np.where(seen, anom[pr], 0.0)
    f_t = np.where(seen, flag_n[pr], 0.0)
    if loo:
        own = flags_own >= 0
        a_t = a_t - np.where(own & seen, flags_own == 1, 0)
        f_t = f_t - np.where(own & seen, 1, 0)
        a_t = np.maximum(a_t, 0)
        f_t = np.maximum(f_t, 0)
    m = 2.0
    share = (a_t + m * prior) / (f_t + m)
    sev = np.where(seen, sev_p[pr], bundle_like["unseen_severity"])
    tshare = np.where(seen, svc_share[pr], -12.0)
    be = df_b["bucket_error"].to_numpy(np.float64)
    bw = df_b["bucket_warn"].to_numpy(np.float64)
    bt = df_b["bucket_total"].to_numpy(np.float64)
    re_ = df_b["svc_rate_error"].to_numpy(np.float64)
    rw = df_b["svc_rate_warn"].to_numpy(np.float64)
    rt = df_b["svc_rate_total"].to_numpy(np.float64)
    X = np.column_stack([
        level_rank.astype(np.float64),
        np.log1p(n_t),
        share,
        sev,
        sev - level_rank,
        np.log((be + 0.5) / (re_ + 0.5)),
        np.log((bw + 0.5) / (rw + 0.5)),
        np.log((bt + 1.0) / (rt + 1.0)),
        tshare,
    ])
    return np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def _unsupervised_score(X: np.ndarray) -> np.ndarray:
    """Rarity + error burst in [0, 1] (no flags to learn from)."""
    rarity = np.clip(-X[:, 8] / 12.0, 0, 1)            # log template share: -12 -> 1
    burst = 1 - np.exp(-np.clip(X[:, 5], 0, None) / 2)  # error bucket vs service rate
    severe = np.clip(X[:, 0] - 2, 0, 2) / 2             # ERROR/FATAL recorded
    s = 0.5 * rarity + 0.3 * burst + 0.2 * severe
    return np.clip(s, 0, 1)


def _choose_threshold(y: np.ndarray, s: np.ndarray, beta: float = 0.5,
                      weights: np.ndarray | None = None) -> tuple[float, dict]:
    """Score cut maximising F-beta (beta=0.5: precision first) on out-of-fold scores."""
    order = np.argsort(-s, kind="stable")
    ys = y[order].astype(np.float64)
    ss = s[order]
    ws = np.ones(len(ys)) if weights is None else np.asarray(weights, dtype=np.float64)[order]
    tp = np.cumsum(ys * ws)
    fp = np.cumsum((1 - ys) * ws)
    P = max(float((ys * ws).sum()), 1e-9)
    prec = tp / np.maximum(tp + fp, 1)
    rec = tp / P
    b2 = beta * beta
    f = (1 + b2) * prec * rec / np.maximum(b2 * prec + rec, 1e-12)
    # only cut between distinct scores
    last = np.r_[ss[1:] != ss[:-1], True]
    f = np.where(last, f, -1)
    i = int(np.argmax(f))
    thr = float(ss[i])
    return thr, {"precision": float(prec[i]), "recall": float(rec[i]), "f_beta": float(f[i])}


def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    if y.min() == y.max():
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))


def train(df: pd.DataFrame, *, seed: int = 0) -> tuple[ModelBundle, dict]:
    """Train the level and anomaly models on ``df`` (see module docstring).

    Returns ``(bundle, metrics)``; metrics hold the held-out (out-of-group /
    out-of-fold) evaluation, ``training_rows`` and ``n_templates``.
    """
    import sklearn
    from sklearn.model_selection import GroupKFold

    t0 = time.perf_counter()
    if len(df) == 0:
        raise ValueError("cannot train on an empty frame")
    timings: dict = {}
    msgs = df["message"].fillna("").astype(str)
    keys = np.asarray(template_keys(msgs.tolist()), dtype=object)
    services = df["service"].fillna("").astype(str).to_numpy(dtype=object)
    lvl = _level_codes(df["level"])
    flags = _flags_array(df)
    timings["mask_s"] = time.perf_counter() - t0

    pair_codes, uniq, counts, n_pair, anom_pair, flag_n_pair = _pair_table(keys, services, lvl, flags)
    pair_keys = np.asarray(uniq.get_level_values(0), dtype=object)
    pair_svcs = np.asarray(uniq.get_level_values(1), dtype=object)
    n_pairs = len(uniq)
    has_level = counts.sum(1) > 0
    label = counts.argmax(1)
    weight = 1.0 + np.log(np.maximum(counts.sum(1), 1))

    bundle = ModelBundle(created_at=pd.Timestamp.now(tz="UTC").isoformat(), sklearn_version=sklearn.__version__)
    bundle.services = {s: i for i, s in enumerate(sorted(set(pair_svcs.tolist())))}
    word, char = _make_vectorizers()
    text = _text_of(pair_keys[has_level])
    word.fit(text)
    try:
        char.fit(text)
        bundle.char_vec = char
    except ValueError:  # too few templates for min_df
        bundle.char_vec = None
    bundle.word_vec = word
    try:
        X = _features(bundle, pair_keys, pair_svcs)
    except ValueError:
        bundle.word_vec = None
        X = None
    bundle.level_prior = _prior_from(label[has_level], weight[has_level])
    timings["vectorize_s"] = time.perf_counter() - t0

    # --- out-of-group probabilities (GroupKFold by template key)
    oog = np.tile(bundle.level_prior, (n_pairs, 1))
    key_codes, _ = pd.factorize(pair_keys)
    train_rows = np.nonzero(has_level)[0]
    n_groups = len(np.unique(key_codes[train_rows]))
    classes_present = np.unique(label[train_rows])
    if X is not None and len(classes_present) >= 2:
        bundle.level_clf = _fit_lr(X[train_rows], label[train_rows], weight[train_rows], seed)
        bundle.level_classes = bundle.level_clf.classes_.astype(np.int64)
    if X is not None and n_groups >= 2:
        folds = min(OOG_FOLDS, n_groups)
        gkf = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        svc_codes, _ = pd.factorize(pair_svcs)
        for tr, te in gkf.split(train_rows, groups=key_codes[train_rows]):
            tr_rows, te_rows = train_rows[tr], train_rows[te]
            ytr = label[tr_rows]
            if len(np.unique(ytr)) < 2:
                p = np.tile(_prior_from(ytr, weight[tr_rows]), (len(te_rows), 1))
            else:
                clf = _fit_lr(X[tr_rows], ytr, weight[tr_rows], seed)
                p = _proba_full(clf, clf.classes_.astype(np.int64), X[te_rows])
            n_svc = np.bincount(svc_codes[tr_rows], minlength=svc_codes.max() + 1)
            oog[te_rows] = _shrink(p, n_svc[svc_codes[te_rows]])
        # unlabelled pairs (level unknown) were never training rows: full model
        unl = np.nonzero(~has_level)[0]
        if len(unl) and bundle.level_clf is not None:
            oog[unl] = _proba_full(bundle.level_clf, bundle.level_classes, X[unl])
    elif n_groups < 2:
        # a single template: nothing out-of-group to learn from -> uniform
        oog[:] = 1.0 / N_LEVELS
    timings["level_model_s"] = time.perf_counter() - t0

    oog = combine_with_prior(oog, pair_keys.tolist())
    # calibration of the out-of-group probabilities against the template labels:
    # a multinomial logistic map on log-probabilities when there are enough templates
    # (it learns e.g. that "reads INFO at 0.8" is often a DEBUG template in this data),
    # a single temperature otherwise
    bundle.calibrator = _fit_calibrator(oog[has_level], label[has_level], weight[has_level], seed)
    if bundle.calibrator is None:
        bundle.temperature = _fit_temperature(oog[has_level], label[has_level], weight[has_level])
    oog = _calibrate(bundle, oog)
    bundle.pair_index = {(k, s): i for i, (k, s) in enumerate(zip(pair_keys.tolist(), pair_svcs.tolist()))}
    tpl_per_svc = pd.Series(has_level).groupby(pair_svcs).sum()
    bundle.service_templates = {str(k): int(v) for k, v in tpl_per_svc.items()}
    bundle.oog_probs = oog.astype(np.float32)
    bundle.pair_n = n_pair.astype(np.int64)
    bundle.pair_anom = anom_pair.astype(np.int64)
    bundle.pair_flag_n = flag_n_pair.astype(np.int64)
    svc_n = pd.Series(n_pair).groupby(pair_svcs).sum()
    bundle.service_n = {str(k): int(v) for k, v in svc_n.items()}

    # --- held-out level metrics: out-of-group prediction vs recorded level, per line
    pred_pair = oog.argmax(1)
    lv_metrics = _per_level_metrics(
        np.repeat(np.arange(N_LEVELS)[None, :], n_pairs, 0).ravel(),
        np.repeat(pred_pair, N_LEVELS),
        counts.ravel().astype(np.float64))
    lv_metrics["split"] = f"GroupKFold({min(OOG_FOLDS, max(n_groups, 1))}) by template key, scored per line"

    # --- anomaly model
    known = flags >= 0
    n_pos = int((flags == 1).sum())
    n_neg = int((flags == 0).sum())
    bundle.anomaly_prior = float(n_pos / max(n_pos + n_neg, 1))
    aux = _anomaly_aux(bundle, pair_keys, pair_svcs)
    Xa = _anomaly_matrix(np.maximum(lvl, 0), pair_codes, aux, flags, df, loo=True)
    an_metrics: dict = {"mode": "unsupervised", "flagged": n_pos, "unflagged": n_neg}
    if n_pos >= MIN_ANOMALY_POSITIVES and n_neg >= MIN_ANOMALY_POSITIVES:
        bundle.anomaly_mode = "supervised"
        ids = df["id"].to_numpy(np.int64)[known] if "id" in df.columns else None
        an_metrics.update(_train_anomaly(bundle, Xa[known], (flags[known] == 1).astype(np.int8), seed, ids))
    else:
        bundle.anomaly_mode = "unsupervised"
        bundle.anomaly_threshold = UNSUPERVISED_THRESHOLD
        an_metrics["threshold"] = UNSUPERVISED_THRESHOLD
        if n_pos and n_neg:
            s = _unsupervised_score(Xa[known])
            an_metrics["auc"] = _auc((flags[known] == 1).astype(int), s)
    timings["anomaly_model_s"] = time.perf_counter() - t0

    bundle.params = {
        "level_model": f"tfidf(word 1-2, char_wb 3-5) + service one-hot, LogisticRegression(C={LR_C})",
        "oog_folds": OOG_FOLDS,
        "temperature": round(bundle.temperature, 4),
        "calibration": "logistic on log-probs" if bundle.calibrator is not None else "temperature",
        "label": "majority level per (template, service), weight 1+log(lines)",
        "anomaly_mode": bundle.anomaly_mode,
        "anomaly_threshold": bundle.anomaly_threshold,
        "false_anomaly_below": bundle.false_anomaly_below,
    }
    metrics = {
        "training_rows": int(len(df)),
        "n_templates": int(len(set(pair_keys.tolist()))),
        "n_template_services": int(n_pairs),
        "level": lv_metrics,
        "macro_f1": lv_metrics["macro_f1"],
        "anomaly": an_metrics,
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "train_seconds": round(time.perf_counter() - t0, 3),
    }
    bundle.metrics = metrics
    return bundle, metrics


def _anomaly_aux(bundle: ModelBundle, pair_keys, pair_svcs) -> dict:
    ranks = np.arange(N_LEVELS, dtype=np.float64)
    sev = bundle.oog_probs.astype(np.float64) @ ranks
    svc_tot = np.array([bundle.service_n.get(s, 1) for s in pair_svcs], dtype=np.float64)
    return {
        "pair_n": bundle.pair_n, "pair_anom": bundle.pair_anom, "pair_flag_n": bundle.pair_flag_n,
        "prior": bundle.anomaly_prior, "severity": sev,
        "svc_share": np.log(np.maximum(bundle.pair_n, 1) / np.maximum(svc_tot, 1)),
        "unseen_severity": float(bundle.level_prior @ ranks) if bundle.level_prior is not None else 1.0,
    }


def _train_anomaly(bundle: ModelBundle, X: np.ndarray, y: np.ndarray, seed: int,
                   ids: np.ndarray | None = None) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(seed)
    n = len(y)
    # bounded cost: keep every positive and a sample of negatives (weights restore the balance)
    w = np.ones(n, dtype=np.float64)
    idx = np.arange(n)
    if n > ANOMALY_FIT_MAX_ROWS:
        pos = idx[y == 1]
        neg = idx[y == 0]
        k = max(ANOMALY_FIT_MAX_ROWS - len(pos), ANOMALY_FIT_MAX_ROWS // 4)
        take = rng.choice(neg, size=min(k, len(neg)), replace=False)
        w_neg = len(neg) / len(take)
        idx = np.sort(np.r_[pos, take])
        w = np.where(y[idx] == 1, 1.0, w_neg)
    else:
        w = w[idx]
    Xs, ys = X[idx], y[idx]

    def make():
        return HistGradientBoostingClassifier(max_iter=80, learning_rate=0.15, max_leaf_nodes=15,
                                              min_samples_leaf=20, l2_regularization=1.0,
                                              early_stopping=False, random_state=seed)

    # 3 folds: out-of-fold scores choose the threshold; the final score is the mean of
    # the three fold models (no fourth fit on everything: cheaper, and a bagged model)
    oof = np.zeros(len(ys), dtype=np.float64)
    models = []
    skf = StratifiedKFold(n_splits=3, shuffle=True, random_state=seed)
    for tr, te in skf.split(Xs, ys):
        clf = make()
        clf.fit(Xs[tr], ys[tr], sample_weight=w[tr])
        oof[te] = clf.predict_proba(Xs[te])[:, 1]
        models.append(clf)
    # threshold on the out-of-fold scores, weighted back to the full population
    thr, at = _choose_threshold(ys, oof, weights=w)
    thr = max(thr, 0.5)
    pred = oof >= thr
    tp = float(w[(pred) & (ys == 1)].sum())
    fp = float(w[(pred) & (ys == 0)].sum())
    fn = float(w[(~pred) & (ys == 1)].sum())
    bundle.anomaly_clf = models
    bundle.anomaly_threshold = float(thr)
    # rows the fold models were fitted on keep their OUT-OF-FOLD score at prediction time
    # (by log id), so the model never vouches for a flag it was trained on; every other row
    # was never seen by any fold model
    if ids is not None:
        fit_ids = ids[idx]
        order = np.argsort(fit_ids, kind="stable")
        bundle.anomaly_oof_ids = fit_ids[order].astype(np.int64)
        bundle.anomaly_oof_scores = oof[order].astype(np.float32)
    # a flagged line is called a false anomaly only below half the 0.5th percentile of the
    # out-of-fold scores of flagged training lines (so ~0.25 % of right flags at most), <= 0.02
    pos_scores = oof[ys == 1]
    bundle.false_anomaly_below = float(min(0.02, 0.5 * np.quantile(pos_scores, 0.005))) if len(pos_scores) else 0.0
    return {
        "mode": "supervised", "threshold": round(float(thr), 4),
        "precision": round(tp / max(tp + fp, 1e-9), 4), "recall": round(tp / max(tp + fn, 1e-9), 4),
        "auc": _auc(ys, oof), "split": "3-fold stratified out-of-fold (rows)",
        "fit_rows": int(len(ys)),
    }


def _anomaly_scores(bundle: ModelBundle, X: np.ndarray) -> np.ndarray:
    """Mean fold-model probability; each distinct feature row is scored once."""
    if len(X) == 0:
        return np.zeros(0)
    # hash each row (64-bit, per-column hashes mixed) and factorize: O(n), unlike a row sort
    from pandas.util import hash_array

    X = np.ascontiguousarray(X)
    h = np.zeros(len(X), dtype=np.uint64)
    for j in range(X.shape[1]):
        h = h * np.uint64(1000003) ^ hash_array(X[:, j])
    inverse, first = pd.factorize(h)
    _, rep = np.unique(inverse, return_index=True)
    uniq = X[rep]
    models = bundle.anomaly_clf if isinstance(bundle.anomaly_clf, list) else [bundle.anomaly_clf]
    s = np.zeros(len(uniq), dtype=np.float64)
    for m in models:
        s += m.predict_proba(uniq)[:, 1]
    return (s / len(models))[inverse]


# ----------------------------------------------------------------------------- scoring

def _pairs_of(bundle: ModelBundle, keys: np.ndarray, services: np.ndarray):
    """Distinct (key, service) of the rows: inverse index, their keys/services, bundle rows."""
    kc, kuniq = pd.factorize(keys)
    sc, suniq = pd.factorize(services)
    combo = kc.astype(np.int64) * max(len(suniq), 1) + sc
    ucombo, inverse = np.unique(combo, return_inverse=True)
    ukeys = kuniq[ucombo // max(len(suniq), 1)]
    usvcs = suniq[ucombo % max(len(suniq), 1)]
    get = bundle.pair_index.get
    rows = np.fromiter((get((k, s), -1) for k, s in zip(ukeys.tolist(), usvcs.tolist())),
                       dtype=np.int64, count=len(ucombo))
    return inverse, np.asarray(ukeys, dtype=object), np.asarray(usvcs, dtype=object), rows


def _probs_for_pairs(bundle: ModelBundle, ukeys, usvcs, rows) -> np.ndarray:
    probs = np.zeros((len(rows), N_LEVELS), dtype=np.float64)
    seen = rows >= 0
    if seen.any():
        probs[seen] = bundle.oog_probs[rows[seen]]
    if (~seen).any():
        probs[~seen] = _level_probs_full(bundle, ukeys[~seen].tolist(), usvcs[~seen].tolist())
    return probs


def template_probabilities(bundle: ModelBundle, frame: pd.DataFrame) -> pd.DataFrame:
    """Level probabilities per template for :func:`logintel.verdicts.level_verdicts`.

    ``frame`` has ``template_key`` and (optionally) ``service``; one output row per
    input row with ``template_key``, ``p_DEBUG`` .. ``p_FATAL`` (out-of-group for
    templates seen in training, full model otherwise) and ``predicted_level``.
    """
    keys = frame["template_key"].astype(str).to_numpy(dtype=object)
    svcs = (frame["service"].fillna("").astype(str).to_numpy(dtype=object)
            if "service" in frame.columns else np.full(len(frame), "", dtype=object))
    inverse, ukeys, usvcs, rows = _pairs_of(bundle, keys, svcs)
    probs = _probs_for_pairs(bundle, ukeys, usvcs, rows)[inverse]
    out = pd.DataFrame(probs, columns=list(PROB_COLUMNS), index=frame.index)
    out.insert(0, "template_key", keys)
    out["predicted_level"] = np.asarray(LEVELS, dtype=object)[probs.argmax(1)]
    return out


def predict(bundle: ModelBundle, df: pd.DataFrame) -> pd.DataFrame:
    """Score rows: template key, level probabilities, anomaly score (aligned to ``df``).

    Each distinct (template_key, service) is scored once.  If ``df`` already has
    a ``template_key`` column it is used as is (no masking).  Bucket columns
    missing from ``df`` are computed with :func:`add_bucket_columns`.
    """
    n = len(df)
    if "template_key" in df.columns:
        keys = df["template_key"].astype(str).to_numpy(dtype=object)
    else:
        keys = np.asarray(template_keys(df["message"].fillna("").astype(str).tolist()), dtype=object)
    services = (df["service"].fillna("").astype(str).to_numpy(dtype=object)
                if "service" in df.columns else np.full(n, "", dtype=object))
    out = pd.DataFrame(index=df.index)
    out["template_key"] = keys
    if n == 0:
        for c in ("predicted_level",):
            out[c] = pd.Series(dtype=object)
        for c in ("confidence", *PROB_COLUMNS, "anomaly_score"):
            out[c] = pd.Series(dtype=np.float64)
        out["predicted_anomaly"] = pd.Series(dtype=bool)
        return out
    inverse, ukeys, usvcs, rows = _pairs_of(bundle, keys, services)
    uprobs = _probs_for_pairs(bundle, ukeys, usvcs, rows)
    upred = uprobs.argmax(1)
    probs = uprobs[inverse]
    out["predicted_level"] = np.asarray(LEVELS, dtype=object)[upred[inverse]]
    out["confidence"] = uprobs.max(1)[inverse]
    for i, c in enumerate(PROB_COLUMNS):
        out[c] = probs[:, i]

    # anomaly
    need = ("bucket_total", "bucket_warn", "bucket_error", "svc_rate_total", "svc_rate_warn", "svc_rate_error")
    dfb = df if all(c in df.columns for c in need) else add_bucket_columns(df)
    lvl = (_level_codes(df["level"]) if "level" in df.columns
           else np.full(n, 1, dtype=np.int64))
    lvl = np.where(lvl < 0, 1, lvl)
    flags = _flags_array(df)
    pair_rows = rows[inverse]
    ranks = np.arange(N_LEVELS, dtype=np.float64)
    aux = {
        "pair_n": bundle.pair_n, "pair_anom": bundle.pair_anom, "pair_flag_n": bundle.pair_flag_n,
        "prior": bundle.anomaly_prior,
        "severity": bundle.oog_probs.astype(np.float64) @ ranks,
        "svc_share": _svc_share(bundle),
        "unseen_severity": float(bundle.level_prior @ ranks) if bundle.level_prior is not None else 1.0,
    }
    Xa = _anomaly_matrix(lvl, pair_rows, aux, flags, dfb, loo=True)
    # unseen templates: use the model's severity reading of the new template
    unseen = pair_rows < 0
    if unseen.any():
        Xa[unseen, 3] = (probs[unseen] @ ranks).astype(np.float32)
        Xa[unseen, 4] = Xa[unseen, 3] - lvl[unseen]
    if bundle.anomaly_mode == "supervised" and bundle.anomaly_clf is not None:
        score = _anomaly_scores(bundle, Xa)
        oof_ids = getattr(bundle, "anomaly_oof_ids", None)
        if oof_ids is not None and len(oof_ids) and "id" in df.columns:
            ids = df["id"].to_numpy(np.int64)
            pos = np.minimum(np.searchsorted(oof_ids, ids), len(oof_ids) - 1)
            hit = oof_ids[pos] == ids
            score = np.where(hit, bundle.anomaly_oof_scores[pos].astype(np.float64), score)
    else:
        score = _unsupervised_score(Xa)
    out["anomaly_score"] = score.astype(np.float64)
    out["predicted_anomaly"] = score >= bundle.anomaly_threshold
    return out


def _svc_share(bundle: ModelBundle) -> np.ndarray:
    cache = getattr(bundle, "_svc_share_cache", None)
    if cache is not None and len(cache) == len(bundle.pair_n):
        return cache
    svcs = [s for (_, s) in bundle.pair_index.keys()]
    svc_tot = np.array([bundle.service_n.get(s, 1) for s in svcs], dtype=np.float64)
    share = np.log(np.maximum(bundle.pair_n, 1) / np.maximum(svc_tot, 1))
    try:
        object.__setattr__(bundle, "_svc_share_cache", share)
    except Exception:  # pragma: no cover
        pass
    return share


# ----------------------------------------------------------------------------- artifacts

def save(bundle: ModelBundle, directory: Path, version: str) -> tuple[Path, str]:
    """Write ``<directory>/logintel-model-<version>.joblib`` atomically; return (path, sha256)."""
    import joblib

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    bundle.version = version
    if hasattr(bundle, "_svc_share_cache"):
        try:
            object.__delattr__(bundle, "_svc_share_cache")
        except Exception:  # pragma: no cover
            pass
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in version)
    path = directory / f"logintel-model-{safe}.joblib"
    tmp = path.with_suffix(f".joblib.tmp{os.getpid()}")
    joblib.dump(bundle, tmp, compress=3)
    os.replace(tmp, path)
    return path, file_sha256(path)


def load(path: Path, sha256: str) -> ModelBundle:
    """Load a bundle after checking its sha256; raises :class:`ArtifactError` naming the file."""
    import joblib

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"model artifact {path} is missing")
    actual = file_sha256(path)
    if sha256 and actual.lower() != str(sha256).lower():
        raise ArtifactError(f"model artifact {path} fails its checksum: expected sha256 {sha256}, got {actual}")
    try:
        bundle = joblib.load(path)
    except Exception as exc:  # corrupt pickle, incompatible library
        raise ArtifactError(f"model artifact {path} cannot be loaded: {exc}") from exc
    if not isinstance(bundle, ModelBundle):
        raise ArtifactError(f"model artifact {path} does not hold a ModelBundle")
    return bundle
