"""Decision rules: template statistics + out-of-group model probabilities -> findings.

See :func:`level_verdicts` for the level rules and their thresholds. Its inputs come from
SQL (``sql/findings/template_level_stats.sql``) and :func:`logintel.ml.template_probabilities`.
The anomaly rule lives in SQL only: the view ``v_prediction_checks`` (migration 005).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .vocab import LEVELS, PROB_COLUMNS

__all__ = ["level_verdicts", "level_posterior", "shorten", "VERDICT_COLUMNS"]

VERDICT_COLUMNS = ["template_key", "level", "kind", "suggested_level", "confidence", "reason"]
N_LEVELS = len(LEVELS)


def shorten(key: str, width: int = 80) -> str:
    """A template key cut to `width` characters for a reason text."""
    key = str(key)
    return key if len(key) <= width else key[: width - 1] + "\u2026"


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
        num = tp[list(PROB_COLUMNS)].mul(w, axis=0).groupby(tp["template_key"]).sum()
        den = w.groupby(tp["template_key"]).sum()
        tp = num.div(den, axis=0).reset_index()
    m = tp.set_index(tp["template_key"].astype(str))[list(PROB_COLUMNS)]
    aligned = m.reindex(keys)
    return aligned.to_numpy(np.float64)


# Parameters of the per-template level model (see level_verdicts).
CORRUPTION_A = 0.5        # Beta(a, b) prior on the share of a template's lines with a wrong level
CORRUPTION_B = 2.0        #   (mean 20 %, wide: heavy corruption of one template is possible)
DEMOTION_SHARE = 0.99     # a wrong level is almost always too LOW (the failure this product hunts)
CALLSITE_PRIOR = 0.02     # prior share of templates whose every line has the wrong level
WORDING_POWER = 0.5       # weight of the out-of-group wording probabilities (mixed templates)
WORDING_POWER_PURE = 1.25  # ... for templates whose lines all share one level (call-site rule)
LEGIT_MIXED_PRIOR = 0.01  # prior share of templates legitimately logged at several levels (two call sites)


DEBUG_GUARD = 0.05  # a pure DEBUG template is called INFO only if < 5 % of its service's other lines are DEBUG


def _debug_share(stats: pd.DataFrame, keys: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per template: share of DEBUG lines among the OTHER lines of its service."""
    if "service" in stats.columns:
        svc_of = stats.drop_duplicates("template_key").set_index("template_key")["service"].astype(str)
        svc = svc_of.reindex(keys).fillna("").to_numpy(dtype=object)
    else:
        svc = np.full(len(keys), "", dtype=object)
    codes, _ = pd.factorize(svc)
    n_t = counts.sum(1).astype(np.float64)
    d_t = counts[:, 0].astype(np.float64)
    n_svc = np.bincount(codes, weights=n_t, minlength=codes.max() + 1)
    d_svc = np.bincount(codes, weights=d_t, minlength=codes.max() + 1)
    others = n_svc[codes] - n_t
    return np.where(others > 0, (d_svc[codes] - d_t) / np.maximum(others, 1), 0.0)


def _log_betabinom(k: np.ndarray, n: np.ndarray, a: float, b: float) -> np.ndarray:
    from scipy.special import betaln, gammaln

    return (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
            + betaln(k + a, n - k + b) - betaln(a, b))


def level_posterior(counts: np.ndarray, probs: np.ndarray, *, a: float = CORRUPTION_A, b: float = CORRUPTION_B,
                    demotion: float = DEMOTION_SHARE, callsite: float = CALLSITE_PRIOR,
                    wording_power: float = WORDING_POWER,
                    wording_power_pure: float | None = None, legit: float = 0.0,
                    with_legit: bool = False):
    """Posterior over each template's TRUE level [n_templates, 5].

    ``counts``: lines per recorded level; ``probs``: out-of-group wording
    probabilities (rows of NaN = unknown, treated as uniform).

    Generative story: a template has one true level T (prior: its wording).
    With probability ``callsite`` its call site is wrong and every line carries
    one other level; otherwise a share f ~ Beta(a, b) of its lines is
    corrupted.  A corrupted line lands below T with probability ``demotion``
    (spread evenly over the levels below) and above T otherwise.
    """
    counts = np.asarray(counts, dtype=np.float64)
    n_t, n_l = counts.shape
    p = np.asarray(probs, dtype=np.float64).copy()
    bad = ~np.isfinite(p).all(1)
    p[bad] = 1.0 / n_l
    p = np.clip(p, 1e-6, 1.0)
    p /= p.sum(1, keepdims=True)
    N = counts.sum(1)
    present = counts > 0
    n_present = present.sum(1)
    gamma = np.where(n_present <= 1, WORDING_POWER_PURE if wording_power_pure is None else wording_power_pure,
                     wording_power)
    logpost = np.empty((n_t, n_l))
    for T in range(n_l):
        k = N - counts[:, T]
        below, above = T, n_l - 1 - T
        logq = np.zeros(n_l)
        for L in range(n_l):
            if L < T:
                logq[L] = np.log(demotion / below)
            elif L > T:
                logq[L] = np.log((1 - demotion) / above)
        other = present.copy()
        other[:, T] = False
        dir_term = (other * logq[None, :]).sum(1)
        bb = _log_betabinom(k, N, a, b)
        noisy = np.log1p(-callsite) + bb
        # every line at one single other level: a wrong call site is possible too
        pure_wrong = (k == N) & (n_present == 1)
        cs = np.where(pure_wrong, np.logaddexp(np.log(callsite), noisy), noisy)
        logpost[:, T] = cs + dir_term + gamma * np.log(p[:, T])
    # Two call sites may share a text and log it at two levels, no line wrong: every split of the
    # lines over the levels present is then equally likely (uniform Dirichlet-multinomial), and the
    # wording says nothing about which level is "true". Weighed against the corruption stories
    # above, it takes the confidence away from thin evidence (1 FATAL among 4 INFO).
    from scipy.special import gammaln, logsumexp

    mixed = n_present >= 2
    log_split = -(gammaln(N + n_present) - gammaln(N + 1) - gammaln(np.maximum(n_present, 1)))
    log_wording = np.log(np.mean(np.exp(gamma[:, None] * np.log(p)), axis=1))
    log_legit = np.where(mixed & (legit > 0), np.log(max(legit, 1e-300)) + log_split + log_wording, -np.inf)
    log_corrupt = np.log1p(-legit) + logsumexp(logpost, axis=1)
    legit_share = np.exp(log_legit - np.logaddexp(log_legit, log_corrupt))
    logpost -= logpost.max(1, keepdims=True)
    post = np.exp(logpost)
    post /= post.sum(1, keepdims=True)
    return (post, legit_share) if with_legit else post


def level_verdicts(stats: pd.DataFrame, template_probs: pd.DataFrame | None = None, *,
                   min_support: int = 1, consistency: float = 0.9, model_confidence: float = 0.98,
                   posterior: dict | None = None) -> pd.DataFrame:
    """Findings per (template_key, recorded level): levels that are wrong.

    ``stats``: one row per (template_key, level) with ``n`` lines (over all
    scored logs).  ``template_probs``: one row per template_key with the
    out-of-group ``p_DEBUG`` .. ``p_FATAL`` (and optionally ``n_total``).

    Method
    ------
    For every template a posterior over its true level is computed
    (:func:`level_posterior`) from (a) its line counts per recorded level and
    (b) the out-of-group wording probabilities (a model never trained on this
    template, times a fixed severity lexicon, see :mod:`logintel.ml.lexicon`).  The
    lines recorded at level ``r`` are a finding when the posterior probability
    that ``r`` is NOT the template's level reaches the threshold; the suggested
    level is the most probable other level and ``confidence`` is that
    posterior probability.

    * Template consistency - the template is recorded at >= 2 levels and has
      at least ``min_support`` other lines - threshold ``consistency`` (0.9).
      Effects: 47 INFO + 1 ERROR -> the ERROR line is overstated; 2 ERROR +
      1 INFO -> the INFO line is understated; 60 WARN + 20 INFO (or even
      20 WARN + 60 DEBUG) -> the milder lines are understated, because wrong
      levels are almost always demotions (``DEMOTION_SHARE`` = 0.99) and the
      wrong share of a template may be large (``Beta(0.5, 2)``).  The wording
      counts with power 0.5 here: counts decide, wording breaks ties.
    * Call site - every line of the template has one level - threshold
      ``model_confidence`` (0.98) with ``CALLSITE_PRIOR`` = 2 % and wording
      power 1.25: the out-of-group wording must find a more severe level
      roughly 500-1000x more likely than the recorded one.  A pure DEBUG template is never
      called INFO when >= 5 % of its service's other lines are DEBUG
      (``DEBUG_GUARD``: DEBUG vs INFO wording is too close to call; needs the
      ``service`` column in ``stats``, else all templates count as one service).

    Known trade-off: a template legitimately logged at two levels by two call
    sites sharing a text is resolved towards the more severe level, so its
    milder lines become ``level_understated`` findings.

    Thresholds were tuned with bench/detect_research.py (injected errors in the
    loghub samples and in 100k synthetic logs): zero findings on every
    uncorrupted sample, no false finding in any reference/adjacent/callsite run.

    ``posterior`` overrides the parameters of :func:`level_posterior` (research).

    Returns columns ``template_key, level, kind, suggested_level, confidence, reason``.
    """
    keys, counts = _pivot(stats)
    if len(keys) == 0:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    probs = _probs_for(keys, template_probs)
    post, legit_share = level_posterior(counts, probs, **{"legit": LEGIT_MIXED_PRIOR, **(posterior or {})},
                                        with_legit=True)
    debug_share = _debug_share(stats, keys, counts)
    p_known = np.where(np.isfinite(probs), probs, np.nan)
    N = counts.sum(1)
    rows = []
    for t, r in zip(*np.nonzero(counts)):
        c = counts[t]
        n = int(N[t])
        n_present = int((c > 0).sum())
        mixed = n_present >= 2
        # the recorded level is wrong only if the template has one true level and it is another
        wrong = (1.0 - post[t, r]) * (1.0 - legit_share[t])
        if mixed:
            if n - 1 < min_support or wrong < consistency:
                continue
        elif wrong < model_confidence:
            continue
        alt = post[t].copy()
        alt[r] = -1
        m = int(np.argmax(alt))
        if not mixed and r == 0 and m == 1 and debug_share[t] >= DEBUG_GUARD:
            # DEBUG vs INFO wording is too close to call for a whole call site, unless
            # the service (almost) never logs DEBUG elsewhere
            continue
        kind = "level_understated" if m > r else "level_overstated"
        key = keys[t]
        if mixed:
            others = n - int(c[r])
            if c[m] * 2 >= others and c[m] > 0:
                reason = (f'{int(c[m])} of {n - 1} other lines of "{shorten(key)}" are {LEVELS[m]}'
                          f' ({int(c[r])} recorded as {LEVELS[r]})')
            else:
                pm = p_known[t, m:].sum() if np.isfinite(p_known[t]).all() else float("nan")
                reason = (f'{int(c[m])} of {n} lines of "{shorten(key)}" are {LEVELS[m]} and its wording reads '
                          f'{LEVELS[m]} or worse (p={pm:.2f}): the {int(c[r])} {LEVELS[r]} lines look '
                          f'{"demoted" if m > r else "promoted"}')
        else:
            which = "every line" if n > 1 else "the only line"
            pm = p_known[t, m] if np.isfinite(p_known[t, m]) else float("nan")
            reason = (f'{which} of "{shorten(key)}" is {LEVELS[r]} ({n} lines), but its wording reads as '
                      f'{LEVELS[m]} (p={pm:.2f}, from a model never trained on this template)')
        rows.append((key, LEVELS[r], kind, LEVELS[m], float(wrong), reason))
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)
