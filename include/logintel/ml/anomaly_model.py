"""Anomaly model: is this line one the ``is_anomaly`` flags would call an anomaly?

* Supervised (``HistGradientBoostingClassifier``) on the flags when the data has at least
  ``min_positives`` flagged and as many unflagged lines.  Row features:
  :data:`~logintel.ml.features.ANOMALY_FEATURES`.
* The decision threshold (``threshold_``) is chosen on OUT-OF-FOLD scores (3-fold) of the
  training rows, maximising F0.5 (precision first), at least 0.5.  The model keeps the
  out-of-fold score of every row the fold models were fitted on (by log id:
  ``oof_ids_`` / ``oof_scores_``) and :meth:`AnomalyModel.score_samples` returns that
  score for those ids, so a row whose flag was cleared in training (what we hunt) is
  judged by a model that did not see it; rows outside the fit sample were never seen by
  any model.  The final score is the mean of the three fold models.  Held-out metrics
  (``metrics_``) are those of the out-of-fold scores.  Training is bounded: all flagged
  rows plus a weighted sample of the others, ``max_fit_rows`` in all.
* ``false_anomaly_below_``: half the 0.5th percentile of the out-of-fold scores of
  flagged lines, at most 0.02; the findings view calls a flagged line a false anomaly
  only below it.
* No flags (e.g. loghub): unsupervised fallback.  The score is a rarity + error-burst
  score in [0, 1]; a line is predicted anomalous only when the score is >=
  ``unsupervised_threshold`` (very strong).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from .features import FEATURE_INDEX, feature_matrix

MIN_THRESHOLD = 0.5            # the supervised cut never goes below an even chance
FALSE_ANOMALY_QUANTILE = 0.005
FALSE_ANOMALY_MAX = 0.02


class AnomalyModel(ClassifierMixin, BaseEstimator):
    """Anomaly scores of log rows from their :data:`ANOMALY_FEATURES` (frame or array).

    ``fit(X, y, ids=None)``: y = 1 flagged / 0 not (rows with an unknown flag left out);
    ``ids`` (log ids of the rows) let :meth:`score_samples` return the out-of-fold score
    of the rows the fold models were fitted on.
    """

    def __init__(self, min_positives: int = 20, max_fit_rows: int = 40_000, n_folds: int = 3,
                 beta: float = 0.5, unsupervised_threshold: float = 0.995, max_iter: int = 80,
                 learning_rate: float = 0.15, max_leaf_nodes: int = 15, min_samples_leaf: int = 20,
                 l2_regularization: float = 1.0, random_state: int | None = 0):
        self.min_positives = min_positives
        self.max_fit_rows = max_fit_rows
        self.n_folds = n_folds
        self.beta = beta
        self.unsupervised_threshold = unsupervised_threshold
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, ids: np.ndarray | None = None) -> AnomalyModel:
        X = feature_matrix(X)
        y = np.asarray(y).astype(np.int8)
        n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
        self.classes_ = np.array([0, 1])
        self.estimators_: list = []
        self.oof_ids_ = None
        self.oof_scores_ = None
        self.false_anomaly_below_ = 0.0
        self.metrics_ = {"mode": "unsupervised", "flagged": n_pos, "unflagged": n_neg}
        if n_pos >= self.min_positives and n_neg >= self.min_positives:
            self.mode_ = "supervised"
            self.metrics_.update(self._fit_supervised(X, y, ids))
        else:
            self.mode_ = "unsupervised"
            self.threshold_ = float(self.unsupervised_threshold)
            self.metrics_["threshold"] = self.unsupervised_threshold
            if n_pos and n_neg:
                self.metrics_["auc"] = _auc(y.astype(int), _unsupervised_score(X))
        return self

    def _make_hgb(self):
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            early_stopping=False, random_state=self.random_state)

    def _fit_supervised(self, X: np.ndarray, y: np.ndarray, ids: np.ndarray | None) -> dict:
        from sklearn.model_selection import StratifiedKFold

        idx, w = self._fit_sample(y)
        Xs, ys = X[idx], y[idx]
        # n folds: out-of-fold scores choose the threshold; the final score is the mean of
        # the fold models (no extra fit on everything: cheaper, and a bagged model)
        oof = np.zeros(len(ys), dtype=np.float64)
        skf = StratifiedKFold(n_splits=self.n_folds, shuffle=True, random_state=self.random_state)
        for tr, te in skf.split(Xs, ys):
            clf = self._make_hgb()
            clf.fit(Xs[tr], ys[tr], sample_weight=w[tr])
            oof[te] = clf.predict_proba(Xs[te])[:, 1]
            self.estimators_.append(clf)
        # threshold on the out-of-fold scores, weighted back to the full population
        thr = max(choose_threshold(ys, oof, self.beta, weights=w), MIN_THRESHOLD)
        self.threshold_ = float(thr)
        pred = oof >= thr
        tp = float(w[pred & (ys == 1)].sum())
        fp = float(w[pred & (ys == 0)].sum())
        fn = float(w[~pred & (ys == 1)].sum())
        # rows the fold models were fitted on keep their OUT-OF-FOLD score at prediction
        # time (by log id), so the model never vouches for a flag it was trained on
        if ids is not None:
            fit_ids = np.asarray(ids)[idx]
            order = np.argsort(fit_ids, kind="stable")
            self.oof_ids_ = fit_ids[order].astype(np.int64)
            self.oof_scores_ = oof[order].astype(np.float32)
        # a flagged line is called a false anomaly only below half the 0.5th percentile of
        # the out-of-fold scores of flagged training lines (~0.25 % of right flags at most)
        pos_scores = oof[ys == 1]
        if len(pos_scores):
            self.false_anomaly_below_ = float(min(FALSE_ANOMALY_MAX,
                                                  0.5 * np.quantile(pos_scores, FALSE_ANOMALY_QUANTILE)))
        return {
            "mode": "supervised", "threshold": round(float(thr), 4),
            "precision": round(tp / max(tp + fp, 1e-9), 4), "recall": round(tp / max(tp + fn, 1e-9), 4),
            "auc": _auc(ys, oof), "split": f"{self.n_folds}-fold stratified out-of-fold (rows)",
            "fit_rows": int(len(ys)),
        }

    def _fit_sample(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows to fit on and their weights: bounded cost, every positive and a sample of
        the negatives (weights restore the balance)."""
        rng = np.random.default_rng(self.random_state)
        n = len(y)
        idx = np.arange(n)
        if n <= self.max_fit_rows:
            return idx, np.ones(n, dtype=np.float64)
        pos, neg = idx[y == 1], idx[y == 0]
        k = max(self.max_fit_rows - len(pos), self.max_fit_rows // 4)
        take = rng.choice(neg, size=min(k, len(neg)), replace=False)
        w_neg = len(neg) / len(take)
        idx = np.sort(np.r_[pos, take])
        return idx, np.where(y[idx] == 1, 1.0, w_neg)

    # ------------------------------------------------------------------ score
    def score_samples(self, X, ids: np.ndarray | None = None) -> np.ndarray:
        """Anomaly score in [0, 1] per row (float64); rows whose id the fold models were
        fitted on get their out-of-fold score."""
        X = feature_matrix(X)
        if self.mode_ != "supervised" or not self.estimators_:
            return _unsupervised_score(X).astype(np.float64)
        score = self._mean_fold_proba(X)
        oof_ids = self.oof_ids_
        if oof_ids is not None and len(oof_ids) and ids is not None:
            ids = np.asarray(ids, dtype=np.int64)
            pos = np.minimum(np.searchsorted(oof_ids, ids), len(oof_ids) - 1)
            hit = oof_ids[pos] == ids
            score = np.where(hit, self.oof_scores_[pos].astype(np.float64), score)
        return score.astype(np.float64)

    def predict_proba(self, X, ids: np.ndarray | None = None) -> np.ndarray:
        s = self.score_samples(X, ids)
        return np.column_stack([1 - s, s])

    def predict(self, X, ids: np.ndarray | None = None) -> np.ndarray:
        return self.score_samples(X, ids) >= self.threshold_

    def _mean_fold_proba(self, X: np.ndarray) -> np.ndarray:
        """Mean fold-model probability; each distinct feature row is scored once."""
        if len(X) == 0:
            return np.zeros(0)
        # hash each row (64-bit, per-column hashes mixed) and factorize: O(n), unlike a row sort
        from pandas.util import hash_array

        h = np.zeros(len(X), dtype=np.uint64)
        for j in range(X.shape[1]):
            h = h * np.uint64(1000003) ^ hash_array(X[:, j])
        inverse, _ = pd.factorize(h)
        _, rep = np.unique(inverse, return_index=True)
        uniq = X[rep]
        s = np.zeros(len(uniq), dtype=np.float64)
        for m in self.estimators_:
            s += m.predict_proba(uniq)[:, 1]
        return (s / len(self.estimators_))[inverse]


# ----------------------------------------------------------------------------- helpers

def _unsupervised_score(X: np.ndarray) -> np.ndarray:
    """Rarity + error burst in [0, 1] (no flags to learn from); float32 like X."""
    def col(name: str) -> np.ndarray:
        return X[:, FEATURE_INDEX[name]]

    rarity = np.clip(-col("log_template_share") / 12.0, 0, 1)        # log template share: -12 -> 1
    burst = 1 - np.exp(-np.clip(col("log_err_ratio"), 0, None) / 2)  # error bucket vs service rate
    severe = np.clip(col("level_rank") - 2, 0, 2) / 2                 # ERROR/FATAL recorded
    s = 0.5 * rarity + 0.3 * burst + 0.2 * severe
    return np.clip(s, 0, 1)


def choose_threshold(y: np.ndarray, s: np.ndarray, beta: float = 0.5, weights: np.ndarray | None = None) -> float:
    """Score cut maximising F-beta (beta=0.5: precision first) on out-of-fold scores; the
    highest such cut when several tie.

    precision_recall_curve sorts like the hand-written version did (descending, stable),
    and the positives weigh 1 each, so the cut is the same to the bit.
    """
    from sklearn.metrics import precision_recall_curve

    prec, rec, thresholds = precision_recall_curve(y, s, sample_weight=weights, drop_intermediate=False)
    prec, rec = prec[:-1], rec[:-1]  # drop the (1, 0) end point: it has no threshold
    b2 = beta * beta
    f = (1 + b2) * prec * rec / np.maximum(b2 * prec + rec, 1e-12)
    # thresholds ascend: the last maximum is the highest cut
    i = len(f) - 1 - int(np.argmax(f[::-1]))
    return float(thresholds[i])


def _auc(y: np.ndarray, s: np.ndarray) -> float | None:
    if y.min() == y.max():
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))
