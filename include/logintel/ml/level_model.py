"""Level model: "what does this message's wording read as?"

* Unit of training: one row per distinct (template_key, service).  Its label is the
  template's MAJORITY recorded level (by line count) and its weight is ``1 + log(lines)``
  (log-damped), so scattered wrong labels - the thing we hunt - barely move the model,
  and a million lines train in seconds.
* Features: :class:`~logintel.ml.features.TemplateVectorizer` (word and char TF-IDF of
  the masked template, service one-hot).  Classifier: multinomial LogisticRegression.
* OUT-OF-GROUP probabilities (``oog_proba_``): GroupKFold by template key (5 folds).  For
  every template seen in training, they come from a model that never saw that template
  (in any service), so the model never vouches for the labels it was trained on.
  Templates never seen in training are scored by the model fitted on all templates
  (:meth:`LevelModel.predict_proba`).
* Probabilities are then (1) shrunk towards uniform with weight
  ``shrink_alpha / (n + shrink_alpha)``, n = training templates of the service,
  (2) multiplied by the hand-written severity lexicon (:mod:`logintel.ml.lexicon`) and
  (3) calibrated by a temperature fitted on the training templates' out-of-group
  predictions (:mod:`logintel.ml.calibration`).
* Held-out metrics (:func:`held_out_metrics`): the out-of-group predictions against the
  recorded levels, per line (weighted by line count), i.e. a template-grouped split:
  per-level precision/recall and macro F1 (over levels present).
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from ..vocab import LEVELS
from .calibration import apply_temperature, fit_temperature, shrink_towards_uniform
from .features import TemplateVectorizer, level_codes
from .lexicon import combine_with_prior

N_LEVELS = len(LEVELS)


class LevelModel(ClassifierMixin, BaseEstimator):
    """Level probabilities of (template_key, service) rows.

    ``fit(X, y, sample_weight)``: X has a ``template_key`` column (and optionally
    ``service``), one row per pair; y the level (name or code 0..4; -1 / unknown name:
    no label - the row gets out-of-group probabilities from the full model but is not
    trained on).  After fit, ``oog_proba_[i]`` are the out-of-group probabilities of
    row i of X.
    """

    def __init__(self, C: float = 2.0, oog_folds: int = 5, char_weight: float = 0.5,
                 shrink_alpha: float = 5.0, lexicon_power: float = 1.0, random_state: int | None = 0):
        self.C = C
        self.oog_folds = oog_folds
        self.char_weight = char_weight
        self.shrink_alpha = shrink_alpha
        self.lexicon_power = lexicon_power
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame, y, sample_weight=None) -> LevelModel:
        from sklearn.model_selection import GroupKFold

        t0 = time.perf_counter()
        keys, services = _pairs(X)
        y = _as_codes(y)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        labelled = y >= 0
        self.classes_ = np.asarray(LEVELS, dtype=object)

        self.vectorizer_ = TemplateVectorizer(self.char_weight).fit(keys[labelled], services)
        try:
            Xt = self.vectorizer_.transform(keys, services)
        except ValueError:
            self.vectorizer_, Xt = None, None
        self.prior_ = _prior_from(y[labelled], w[labelled])  # used where no classifier could be fit
        self.timings_ = {"vectorize_s": time.perf_counter() - t0}

        # --- out-of-group probabilities (GroupKFold by template key)
        oog = np.tile(self.prior_, (len(y), 1))
        key_codes, _ = pd.factorize(keys)
        train_rows = np.nonzero(labelled)[0]
        n_groups = len(np.unique(key_codes[train_rows]))
        self.clf_ = None
        if Xt is not None and len(np.unique(y[train_rows])) >= 2:
            self.clf_ = self._fit_lr(Xt[train_rows], y[train_rows], w[train_rows])
        if Xt is not None and n_groups >= 2:
            gkf = GroupKFold(n_splits=min(self.oog_folds, n_groups), shuffle=True, random_state=self.random_state)
            svc_codes, _ = pd.factorize(services)
            for tr, te in gkf.split(train_rows, groups=key_codes[train_rows]):
                tr_rows, te_rows = train_rows[tr], train_rows[te]
                ytr = y[tr_rows]
                if len(np.unique(ytr)) < 2:
                    p = np.tile(_prior_from(ytr, w[tr_rows]), (len(te_rows), 1))
                else:
                    p = _proba_full(self._fit_lr(Xt[tr_rows], ytr, w[tr_rows]), Xt[te_rows])
                # shrink by the templates of the service the fold model saw
                n_svc = np.bincount(svc_codes[tr_rows], minlength=svc_codes.max() + 1)
                oog[te_rows] = shrink_towards_uniform(p, n_svc[svc_codes[te_rows]], self.shrink_alpha)
            # unlabelled pairs (level unknown) were never training rows: full model
            unl = np.nonzero(~labelled)[0]
            if len(unl) and self.clf_ is not None:
                oog[unl] = _proba_full(self.clf_, Xt[unl])
        elif n_groups < 2:
            # a single template: nothing out-of-group to learn from -> uniform
            oog[:] = 1.0 / N_LEVELS
        self.n_folds_ = min(self.oog_folds, max(n_groups, 1))
        self.timings_["level_model_s"] = time.perf_counter() - t0

        oog = combine_with_prior(oog, keys.tolist(), self.lexicon_power)
        self.temperature_ = fit_temperature(oog[labelled], y[labelled], w[labelled])
        oog = apply_temperature(oog, self.temperature_)
        tpl_per_svc = pd.Series(labelled).groupby(services).sum()
        self.service_templates_ = {str(k): int(v) for k, v in tpl_per_svc.items()}
        self.oog_proba_ = oog.astype(np.float32)  # what scoring reads (compact)
        self.oog_pred_ = oog.argmax(1)            # of the float64 probabilities: for the held-out metrics
        return self

    def _fit_lr(self, X, y, w):
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=self.C, max_iter=1000, random_state=self.random_state)
        clf.fit(X, y, sample_weight=w)
        return clf

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probabilities [n, 5] of the model fitted on all templates (shrunk, times the
        lexicon, calibrated), for templates not seen in training."""
        keys, services = _pairs(X)
        if not len(keys):
            return np.zeros((0, N_LEVELS))
        n_svc = np.array([self.service_templates_.get(s, 0) for s in services], dtype=np.float64)
        if self.clf_ is None:
            p = np.tile(self.prior_, (len(keys), 1))
        else:
            p = _proba_full(self.clf_, self.vectorizer_.transform(keys, services))
        p = combine_with_prior(shrink_towards_uniform(p, n_svc, self.shrink_alpha), keys.tolist(),
                               self.lexicon_power)
        return apply_temperature(p, self.temperature_)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Most probable level names."""
        return self.classes_[self.predict_proba(X).argmax(1)]


# ----------------------------------------------------------------------------- helpers

def _pairs(X) -> tuple[np.ndarray, np.ndarray]:
    keys = np.asarray(X["template_key"], dtype=object)
    services = (np.asarray(X["service"], dtype=object) if "service" in X
                else np.full(len(keys), "", dtype=object))
    return keys, services


def _as_codes(y) -> np.ndarray:
    """Level names or codes -> codes 0..4 (-1: unknown)."""
    y = np.asarray(y)
    if y.dtype.kind in "OUST":
        return level_codes(pd.Series(y, dtype=object))
    return y.astype(np.int64)


def _proba_full(clf, X) -> np.ndarray:
    """predict_proba mapped onto all five levels (classes absent from training get 0)."""
    out = np.zeros((X.shape[0], N_LEVELS), dtype=np.float64)
    out[:, clf.classes_.astype(np.int64)] = clf.predict_proba(X)
    return out


def _prior_from(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    p = np.bincount(y, weights=w, minlength=N_LEVELS).astype(np.float64)
    p += 1e-3
    return p / p.sum()


def held_out_metrics(counts: np.ndarray, oog_pred: np.ndarray) -> dict:
    """Out-of-group predicted level of each pair against its recorded levels, per line.

    ``counts[i, j]``: lines of pair i recorded at level j.  Per-level precision / recall
    / F1 / support of the levels present (recorded or predicted), macro F1 over the
    recorded ones, accuracy.
    """
    from sklearn.metrics import precision_recall_fscore_support

    n_pairs = len(counts)
    y_true = np.repeat(np.arange(N_LEVELS)[None, :], n_pairs, 0).ravel()
    y_pred = np.repeat(oog_pred, N_LEVELS)
    w = counts.ravel().astype(np.float64)
    present = np.nonzero((np.bincount(y_true, weights=w, minlength=N_LEVELS) > 0)
                         | (np.bincount(y_pred, weights=w, minlength=N_LEVELS) > 0))[0]
    out: dict = {"per_level": {}}
    f1s = []
    if len(present):
        prec, rec, _, support = precision_recall_fscore_support(
            y_true, y_pred, labels=present, sample_weight=w, zero_division=0.0)
        for lv, p, r, n_true in zip(present, prec.tolist(), rec.tolist(), support.tolist()):
            # F1 from p and r (sklearn's 2tp/(2tp+fp+fn) rounds differently at the 4th decimal)
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            out["per_level"][LEVELS[lv]] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4),
                                            "support": int(n_true)}
            if n_true:
                f1s.append(f1)
    out["macro_f1"] = round(float(np.mean(f1s)), 4) if f1s else 0.0
    out["accuracy"] = round(float(w[y_true == y_pred].sum() / max(w.sum(), 1)), 4)
    return out
