"""Features of the two models, with named columns.

* Template keys (:func:`template_keys`), level codes and anomaly flags of log rows.
* The (template_key, service) pair table: the unit the level model trains on, and the
  per-template statistics the anomaly model reads (:class:`TemplateStats`, kept in the
  bundle).
* The level model's text features (:class:`TemplateVectorizer`): TF-IDF of the masked
  template's words (1-2 grams), TF-IDF of character 3-5 grams inside words (so
  ``fail``/``failed``/``failure`` share evidence across templates) and a one-hot service
  token (the service's own level habits).
* The anomaly model's row features (:data:`ANOMALY_FEATURES`, :func:`anomaly_features`):
  recorded level rank, template frequency, the template's anomaly share in training
  (leave-one-out: the row's own flag removed, smoothed towards the global rate), the level
  model's out-of-group severity reading of the template, and the 5-minute bucket counts
  relative to the service's rate (error burst, warn spike, volume).  The bucket columns
  come from SQL (``sql/scoring/bucket_counts.sql``): bucket = the 5-minute bin of
  ``ts``; ``bucket_total`` / ``bucket_warn`` / ``bucket_error`` = lines / WARN lines /
  ERROR+FATAL lines of the row's service in the row's bucket; ``svc_rate_*`` = the mean of
  those counts over the service's non-empty buckets.

scikit-learn and scipy are imported inside the functions that need them: DAG files
import this package and must stay fast.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..vocab import LEVELS
from ..masking import thread_masker

N_LEVELS = len(LEVELS)
BUCKET_COLUMNS = ("bucket_total", "bucket_warn", "bucket_error", "svc_rate_total", "svc_rate_warn", "svc_rate_error")
ANOMALY_FEATURES = (
    "level_rank", "log_template_n", "template_anom_share", "template_severity",
    "rank_gap", "log_err_ratio", "log_warn_ratio", "log_total_ratio", "log_template_share",
)
FEATURE_INDEX = {name: i for i, name in enumerate(ANOMALY_FEATURES)}
UNSEEN_TEMPLATE_SHARE = -12.0  # log share of a template never seen in training (~1 line in 160k)
ANOM_SHARE_PSEUDO_LINES = 2.0  # lines at the global anomaly rate mixed into a template's share

_LEVEL_CODE = {lv: i for i, lv in enumerate(LEVELS)}


# ----------------------------------------------------------------------------- rows

def template_keys(messages) -> list[str]:
    """Template keys with this thread's masker and its message cache (masking.thread_masker)."""
    return thread_masker().keys(messages)


def frame_template_keys(df: pd.DataFrame) -> np.ndarray:
    """The rows' template keys: the catalog's (``template_key``, read with the logs) where the row
    has one (``template_id`` >= 0, or no ``template_id`` column), masked from the message only
    for the rows not templated yet; all masked when the frame has no keys."""
    if "template_key" not in df.columns:
        return np.asarray(template_keys(df["message"].fillna("").astype(str).tolist()), dtype=object)
    keys = df["template_key"].astype(str).to_numpy(dtype=object, copy=True)
    if "template_id" in df.columns:
        todo = np.flatnonzero(df["template_id"].to_numpy() < 0)
        if len(todo):
            keys[todo] = template_keys(df["message"].iloc[todo].fillna("").astype(str).tolist())
    return keys


def level_codes(levels: pd.Series) -> np.ndarray:
    """Level strings -> 0..4 (case-insensitive; unknown/NA -> -1)."""
    codes, uniq = pd.factorize(levels.to_numpy(dtype=object), use_na_sentinel=True)
    table = np.array([_LEVEL_CODE.get(str(u).upper(), -1) for u in uniq] + [-1], dtype=np.int64)
    return table[codes]


def flags_array(df: pd.DataFrame) -> np.ndarray:
    """is_anomaly -> 1 / 0 / -1 (unknown)."""
    out = np.full(len(df), -1, dtype=np.int8)
    if "is_anomaly" not in df.columns:
        return out
    s = df["is_anomaly"]
    known = s.notna().to_numpy()
    out[known] = s[known].astype(bool).to_numpy().astype(np.int8)
    return out


def require_bucket_columns(df: pd.DataFrame) -> None:
    """The anomaly features need the bucket columns the scoring SQL adds."""
    missing = [c for c in BUCKET_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"frame lacks the bucket columns {', '.join(missing)} "
                         "(read logs with logintel.frames.read_logs, which computes them in SQL)")


# ----------------------------------------------------------------------------- pairs

@dataclass
class PairTable:
    """Distinct (template_key, service) of training rows (transient, not stored)."""

    codes: np.ndarray     # row -> pair
    keys: np.ndarray      # object [n_pairs]
    services: np.ndarray  # object [n_pairs]
    counts: np.ndarray    # int64 [n_pairs, 5]: lines per recorded level
    n: np.ndarray         # lines
    anom: np.ndarray      # flagged lines
    flag_n: np.ndarray    # lines with a known flag

    def frame(self) -> pd.DataFrame:
        """The pairs as the level model's input (one row per pair)."""
        return pd.DataFrame({"template_key": self.keys, "service": self.services})


def pair_table(keys: np.ndarray, services: np.ndarray, lvl: np.ndarray, flags: np.ndarray) -> PairTable:
    """Distinct (key, service): counts per level, lines, flagged lines, known flags."""
    frame = pd.DataFrame({"k": keys, "s": services})
    codes, uniq = pd.MultiIndex.from_arrays([frame["k"], frame["s"]]).factorize()
    n_pairs = len(uniq)
    counts = np.zeros((n_pairs, N_LEVELS), dtype=np.int64)
    valid = lvl >= 0
    np.add.at(counts, (codes[valid], lvl[valid]), 1)
    known = flags >= 0
    return PairTable(
        codes=codes,
        keys=np.asarray(uniq.get_level_values(0), dtype=object),
        services=np.asarray(uniq.get_level_values(1), dtype=object),
        counts=counts,
        n=np.bincount(codes, minlength=n_pairs),
        anom=np.bincount(codes[known], weights=(flags[known] == 1).astype(np.float64), minlength=n_pairs),
        flag_n=np.bincount(codes[known], minlength=n_pairs),
    )


@dataclass
class TemplateStats:
    """Per (template_key, service) seen in training: what scoring needs to look up."""

    index: dict              # (key, service) -> row of the arrays below (and of the level model's oog_proba_)
    n: np.ndarray            # int64: lines in training
    anom: np.ndarray         # int64: flagged lines
    flag_n: np.ndarray       # int64: lines with a known flag
    service_n: dict          # service -> lines in training
    anomaly_prior: float     # flagged share of the lines with a known flag
    svc_share: np.ndarray    # float64: log(template lines / service lines)

    @classmethod
    def from_table(cls, table: PairTable, anomaly_prior: float) -> TemplateStats:
        n = table.n.astype(np.int64)
        svc_n = pd.Series(table.n).groupby(table.services).sum()
        service_n = {str(k): int(v) for k, v in svc_n.items()}
        svc_tot = np.array([service_n.get(s, 1) for s in table.services], dtype=np.float64)
        return cls(
            index={(k, s): i for i, (k, s) in enumerate(zip(table.keys.tolist(), table.services.tolist()))},
            n=n, anom=table.anom.astype(np.int64), flag_n=table.flag_n.astype(np.int64),
            service_n=service_n, anomaly_prior=float(anomaly_prior),
            svc_share=np.log(np.maximum(n, 1) / np.maximum(svc_tot, 1)),
        )

    def rows_of(self, keys: np.ndarray, services: np.ndarray):
        """Distinct (key, service) of the rows: inverse index, their keys / services, and
        their row in the table (-1: not seen in training)."""
        kc, kuniq = pd.factorize(keys)
        sc, suniq = pd.factorize(services)
        width = max(len(suniq), 1)
        combo = kc.astype(np.int64) * width + sc
        ucombo, inverse = np.unique(combo, return_inverse=True)
        ukeys = kuniq[ucombo // width]
        usvcs = suniq[ucombo % width]
        get = self.index.get
        rows = np.fromiter((get((k, s), -1) for k, s in zip(ukeys.tolist(), usvcs.tolist())),
                           dtype=np.int64, count=len(ucombo))
        return inverse, np.asarray(ukeys, dtype=object), np.asarray(usvcs, dtype=object), rows


def expected_rank(probs: np.ndarray) -> np.ndarray:
    """Severity reading of level probabilities: the expected level rank (0 DEBUG .. 4 FATAL)."""
    return probs @ np.arange(N_LEVELS, dtype=np.float64)


# ----------------------------------------------------------------------------- anomaly features

def anomaly_features(level_rank: np.ndarray, pair_rows: np.ndarray, stats: TemplateStats,
                     oog_proba: np.ndarray, flags: np.ndarray, buckets: pd.DataFrame,
                     unseen_proba: np.ndarray | None = None) -> pd.DataFrame:
    """Row features of the anomaly model, columns :data:`ANOMALY_FEATURES` (float32).

    ``pair_rows``: the row's pair in ``stats`` (-1: unseen); ``oog_proba``: the level
    model's out-of-group probabilities per pair; ``unseen_proba``: one row per unseen row
    (in order), the full model's probabilities of the new template.  The template's
    anomaly share always leaves the row's own flag out, in training (no label leak) and
    in scoring alike (a row scores as it did in training).
    """
    seen = pair_rows >= 0
    pr = np.where(seen, pair_rows, 0)
    n_t = np.where(seen, stats.n.astype(np.float64)[pr], 0.0)
    a_t = np.where(seen, stats.anom.astype(np.float64)[pr], 0.0)
    f_t = np.where(seen, stats.flag_n.astype(np.float64)[pr], 0.0)
    own = (flags >= 0) & seen
    a_t = np.maximum(a_t - np.where(own, flags == 1, 0), 0)
    f_t = np.maximum(f_t - np.where(own, 1, 0), 0)
    m = ANOM_SHARE_PSEUDO_LINES
    sev = np.where(seen, expected_rank(oog_proba.astype(np.float64))[pr], 0.0)
    if not seen.all():
        if unseen_proba is None:
            raise ValueError("rows of unseen templates need unseen_proba")
        # rounded to float32 first, as the stored feature is: rank_gap then uses the same value
        sev[~seen] = expected_rank(unseen_proba).astype(np.float32)
    b = {c: buckets[c].to_numpy(np.float64) for c in BUCKET_COLUMNS}
    cols = {
        "level_rank": level_rank.astype(np.float64),
        "log_template_n": np.log1p(n_t),
        "template_anom_share": (a_t + m * stats.anomaly_prior) / (f_t + m),
        "template_severity": sev,
        "rank_gap": sev - level_rank,
        "log_err_ratio": np.log((b["bucket_error"] + 0.5) / (b["svc_rate_error"] + 0.5)),
        "log_warn_ratio": np.log((b["bucket_warn"] + 0.5) / (b["svc_rate_warn"] + 0.5)),
        "log_total_ratio": np.log((b["bucket_total"] + 1.0) / (b["svc_rate_total"] + 1.0)),
        "log_template_share": np.where(seen, stats.svc_share[pr], UNSEEN_TEMPLATE_SHARE),
    }
    X = np.column_stack([cols[c] for c in ANOMALY_FEATURES])
    X = np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    return pd.DataFrame(X, columns=list(ANOMALY_FEATURES))


def feature_matrix(X) -> np.ndarray:
    """float32 C-ordered matrix in :data:`ANOMALY_FEATURES` order (from a frame or an array)."""
    if isinstance(X, pd.DataFrame):
        X = X[list(ANOMALY_FEATURES)].to_numpy(dtype=np.float32)
    return np.ascontiguousarray(X, dtype=np.float32)


# ----------------------------------------------------------------------------- text features

def text_of(keys) -> list[str]:
    """Template keys as text: the <*> placeholders are word breaks, not words."""
    return [k.replace("<*>", " ") for k in keys]


class TemplateVectorizer:
    """Sparse level-model features of (template key, service) rows, side by side:
    word TF-IDF | char_wb TF-IDF * char_weight | service one-hot.

    (A ColumnTransformer would fit all three blocks on the same rows; here the
    vocabularies come from the labelled templates and the services from all pairs,
    and the char block is dropped when too few templates pass its min_df.)
    """

    def __init__(self, char_weight: float = 0.5):
        self.char_weight = char_weight
        self.word_vec_ = None
        self.char_vec_ = None
        self.services_: dict = {}

    def fit(self, keys, services) -> TemplateVectorizer:
        """Vocabularies from ``keys`` (labelled templates); one-hot columns for ``services``."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        word = TfidfVectorizer(lowercase=True, token_pattern=r"(?u)\b[A-Za-z][A-Za-z]+\b",
                               ngram_range=(1, 2), min_df=1, sublinear_tf=True, dtype=np.float32)
        char = TfidfVectorizer(lowercase=True, analyzer="char_wb", ngram_range=(3, 5), min_df=2,
                               sublinear_tf=True, dtype=np.float32, max_features=50_000)
        self.services_ = {s: i for i, s in enumerate(sorted(set(list(services))))}
        text = text_of(keys)
        word.fit(text)
        try:
            char.fit(text)
            self.char_vec_ = char
        except ValueError:  # too few templates for min_df
            self.char_vec_ = None
        self.word_vec_ = word
        return self

    def transform(self, keys, services):
        import scipy.sparse as sp

        text = text_of(keys)
        blocks = [self.word_vec_.transform(text)]
        if self.char_vec_ is not None:
            blocks.append(self.char_vec_.transform(text) * self.char_weight)
        n = len(text)
        cols = np.array([self.services_.get(s, -1) for s in services], dtype=np.int64)
        ok = cols >= 0
        one_hot = sp.csr_matrix((np.ones(ok.sum(), dtype=np.float32), (np.nonzero(ok)[0], cols[ok])),
                                shape=(n, max(1, len(self.services_))))
        blocks.append(one_hot)
        return sp.hstack(blocks, format="csr")
