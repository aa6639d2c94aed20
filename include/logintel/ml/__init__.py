"""Level and anomaly models: train, save, load, predict (the facade the pipeline uses).

* :mod:`.features`: template keys, the (template, service) pair table, the level
  model's text features and the anomaly model's named row features;
* :mod:`.lexicon`: the hand-written severity lexicon (the level model's second expert);
* :mod:`.calibration`: shrinking towards uniform and temperature scaling;
* :mod:`.level_model`: :class:`~.level_model.LevelModel` (out-of-group probabilities);
* :mod:`.anomaly_model`: :class:`~.anomaly_model.AnomalyModel` (supervised folds or
  the unsupervised fallback);
* :mod:`.bundle`: the artifact (:class:`ModelBundle`, :func:`save`, :func:`load`).

:func:`predict` scores each distinct (template_key, service) once: templates seen in
training get their stored OUT-OF-GROUP probabilities, new ones the full model's.  The
frame must carry the bucket columns the scoring SQL computes
(``sql/scoring/bucket_counts.sql``, read by :func:`logintel.frames.read_logs`).

This package imports without scikit-learn (DAG files import it and must stay fast): the
estimator modules are imported where a model is trained or unpickled.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..vocab import LEVEL_RANK, LEVELS, PROB_COLUMNS
from .bundle import BUNDLE_FORMAT, ArtifactError, ModelBundle, load, save
from .features import (BUCKET_COLUMNS, TemplateStats, anomaly_features, flags_array, frame_template_keys,
                       level_codes, pair_table, require_bucket_columns, template_keys)

__all__ = [
    "LEVELS", "LEVEL_RANK", "PROB_COLUMNS", "BUCKET_COLUMNS", "BUNDLE_FORMAT", "ModelBundle", "ArtifactError",
    "train", "predict", "template_probabilities", "save", "load", "template_keys",
]


def train(df: pd.DataFrame, *, seed: int = 0) -> tuple[ModelBundle, dict]:
    """Train the level and anomaly models on ``df`` (log rows with the bucket columns).

    Returns ``(bundle, metrics)``; metrics hold the held-out (out-of-group /
    out-of-fold) evaluation, ``training_rows`` and ``n_templates``.
    """
    import sklearn

    from .anomaly_model import AnomalyModel
    from .level_model import LevelModel, held_out_metrics

    t0 = time.perf_counter()
    if len(df) == 0:
        raise ValueError("cannot train on an empty frame")
    require_bucket_columns(df)
    created_at = pd.Timestamp.now(tz="UTC").isoformat()
    timings: dict = {}
    keys = frame_template_keys(df)  # the catalog's, read with the logs
    services = df["service"].fillna("").astype(str).to_numpy(dtype=object)
    lvl = level_codes(df["level"])
    flags = flags_array(df)
    timings["mask_s"] = time.perf_counter() - t0

    # --- level model: one row per (template, service), labelled with its majority level,
    # weighted 1 + log(lines)
    table = pair_table(keys, services, lvl, flags)
    lines = table.counts.sum(1)
    label = np.where(lines > 0, table.counts.argmax(1), -1)
    weight = 1.0 + np.log(np.maximum(lines, 1))
    t_level = time.perf_counter() - t0
    level_model = LevelModel(random_state=seed).fit(table.frame(), label, sample_weight=weight)
    for k, v in level_model.timings_.items():
        timings[k] = t_level + v
    lv_metrics = held_out_metrics(table.counts, level_model.oog_pred_)
    lv_metrics["split"] = f"GroupKFold({level_model.n_folds_}) by template key, scored per line"

    # --- anomaly model, on the rows with a known flag
    known = flags >= 0
    n_pos = int((flags == 1).sum())
    n_neg = int((flags == 0).sum())
    templates = TemplateStats.from_table(table, anomaly_prior=n_pos / max(n_pos + n_neg, 1))
    Xa = anomaly_features(np.maximum(lvl, 0), table.codes, templates, level_model.oog_proba_, flags, df)
    ids = df["id"].to_numpy(np.int64)[known] if "id" in df.columns else None
    anomaly_model = AnomalyModel(random_state=seed).fit(Xa[known], (flags[known] == 1).astype(np.int8), ids=ids)
    timings["anomaly_model_s"] = time.perf_counter() - t0

    params = {
        "level_model": f"tfidf(word 1-2, char_wb 3-5) + service one-hot, LogisticRegression(C={level_model.C})",
        "oog_folds": level_model.oog_folds,
        "temperature": round(level_model.temperature_, 4),
        "calibration": "temperature",
        "label": "majority level per (template, service), weight 1+log(lines)",
        "anomaly_mode": anomaly_model.mode_,
        "anomaly_threshold": anomaly_model.threshold_,
        "false_anomaly_below": anomaly_model.false_anomaly_below_,
    }
    metrics = {
        "training_rows": int(len(df)),
        "n_templates": int(len(set(table.keys.tolist()))),
        "n_template_services": int(len(table.keys)),
        "level": lv_metrics,
        "macro_f1": lv_metrics["macro_f1"],
        "anomaly": dict(anomaly_model.metrics_),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "train_seconds": round(time.perf_counter() - t0, 3),
    }
    bundle = ModelBundle(level_model=level_model, anomaly_model=anomaly_model, templates=templates,
                         created_at=created_at, sklearn_version=sklearn.__version__, params=params,
                         metrics=metrics)
    return bundle, metrics


def _probs_for_pairs(bundle: ModelBundle, ukeys: np.ndarray, usvcs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Level probabilities of distinct pairs: out-of-group if seen in training, else the full model's."""
    probs = np.zeros((len(rows), len(LEVELS)), dtype=np.float64)
    seen = rows >= 0
    if seen.any():
        probs[seen] = bundle.level_model.oog_proba_[rows[seen]]
    if (~seen).any():
        probs[~seen] = bundle.level_model.predict_proba(
            pd.DataFrame({"template_key": ukeys[~seen], "service": usvcs[~seen]}))
    return probs


def _services(frame: pd.DataFrame) -> np.ndarray:
    if "service" in frame.columns:
        return frame["service"].fillna("").astype(str).to_numpy(dtype=object)
    return np.full(len(frame), "", dtype=object)


def template_probabilities(bundle: ModelBundle, frame: pd.DataFrame) -> pd.DataFrame:
    """Level probabilities per template for :func:`logintel.verdicts.level_verdicts`.

    ``frame`` has ``template_key`` and (optionally) ``service``; one output row per
    input row with ``template_key``, ``p_DEBUG`` .. ``p_FATAL`` (out-of-group for
    templates seen in training, full model otherwise) and ``predicted_level``.
    """
    keys = frame["template_key"].astype(str).to_numpy(dtype=object)
    inverse, ukeys, usvcs, rows = bundle.templates.rows_of(keys, _services(frame))
    probs = _probs_for_pairs(bundle, ukeys, usvcs, rows)[inverse]
    out = pd.DataFrame(probs, columns=list(PROB_COLUMNS), index=frame.index)
    out.insert(0, "template_key", keys)
    out["predicted_level"] = np.asarray(LEVELS, dtype=object)[probs.argmax(1)]
    return out


def predict(bundle: ModelBundle, df: pd.DataFrame) -> pd.DataFrame:
    """Score rows: template key, level probabilities, anomaly score (aligned to ``df``).

    Each distinct (template_key, service) is scored once.  If ``df`` already has a
    ``template_key`` column (the catalog's) it is used as is: only rows with a ``template_id``
    below 0 (not templated yet) are masked.  ``df`` must have the bucket
    columns (:data:`BUCKET_COLUMNS`, ValueError otherwise).
    """
    n = len(df)
    keys = frame_template_keys(df)
    out = pd.DataFrame(index=df.index)
    out["template_key"] = keys
    if n == 0:
        out["predicted_level"] = pd.Series(dtype=object)
        for c in ("confidence", *PROB_COLUMNS, "anomaly_score"):
            out[c] = pd.Series(dtype=np.float64)
        out["predicted_anomaly"] = pd.Series(dtype=bool)
        return out
    require_bucket_columns(df)
    inverse, ukeys, usvcs, rows = bundle.templates.rows_of(keys, _services(df))
    uprobs = _probs_for_pairs(bundle, ukeys, usvcs, rows)
    probs = uprobs[inverse]
    out["predicted_level"] = np.asarray(LEVELS, dtype=object)[uprobs.argmax(1)[inverse]]
    out["confidence"] = uprobs.max(1)[inverse]
    for i, c in enumerate(PROB_COLUMNS):
        out[c] = probs[:, i]

    # anomaly: a row of an unseen template reads the full model's severity of it
    lvl = level_codes(df["level"]) if "level" in df.columns else np.full(n, 1, dtype=np.int64)
    lvl = np.where(lvl < 0, 1, lvl)
    pair_rows = rows[inverse]
    Xa = anomaly_features(lvl, pair_rows, bundle.templates, bundle.level_model.oog_proba_, flags_array(df), df,
                          unseen_proba=probs[pair_rows < 0])
    ids = df["id"].to_numpy(np.int64) if "id" in df.columns else None
    score = bundle.anomaly_model.score_samples(Xa, ids)
    out["anomaly_score"] = score
    # (the unsupervised score is float32: compared in float64, the same rows pass 0.995)
    out["predicted_anomaly"] = score >= bundle.anomaly_model.threshold_
    return out
