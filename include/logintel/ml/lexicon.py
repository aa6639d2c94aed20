"""A small hand-written severity lexicon: the level model's second expert.

Generic log vocabulary, not learned from any data set.  It gives the level model
knowledge that transfers to systems with few templates: "exception", "failed",
"refused" do not read as DEBUG, "panic" / "out of memory" read as FATAL.  The final
level probabilities are the normalised product ``p_model * p_lexicon ** power``
(:func:`combine_with_prior`).
"""
from __future__ import annotations

import re

import numpy as np

from ..vocab import LEVELS

N_LEVELS = len(LEVELS)

_CUES = {
    "fatal": re.compile(
        r"\b(?:fatal|panic(?:ked)?|out of memory|oom|segfault|segmentation fault|core dumped|unrecoverable|"
        r"shutting down|aborting|emergency|kernel|corrupt(?:ed|ion)?|data loss|crash(?:ed|ing)?)\b", re.I),
    "error": re.compile(
        r"(?<!\bno )(?<!\b0 )\b(?:errors?|exceptions?|\w*exception|fail(?:s|ed|ure|ures|ing)?|cannot|can't|could not|"
        r"couldn't|unable|refused|denied|timed out|timeout|invalid|unreachable|unavailable|not found|lost|"
        r"broken|rejected|unexpected|no route|giving up|gave up|killed|abort(?:ed)?|mismatch|violation|"
        r"deadlock|unhandled|illegal)\b", re.I),
    "warn": re.compile(
        r"\b(?:warn(?:ing)?s?|deprecated|retry(?:ing)?|retries|slow(?:ly)?|exceed(?:ed|s)?|too (?:many|large|long|"
        r"slow)|throttl\w*|dropp?(?:ed|ing)|skipp?(?:ed|ing)|degraded|interrupted|expir(?:ed|ing|es)|"
        r"not running|fallback|falling back|lag|backlog|high|low|limit(?:ed)?|blocked|stale|"
        r"retried|recover(?:ing|ed)?)\b", re.I),
    "ok": re.compile(
        r"\b(?:success(?:ful(?:ly)?)?|succeeded|started|starting|completed?|done|ok|ready|listening|"
        r"connected|established|registered|loaded|initiali[sz]ed|created|finished|accepted|received|"
        r"sent|processed|stored|updated|saved|opened|closed|healthy)\b", re.I),
    "debug": re.compile(r"\b(?:debug|trace|tracing|entering|leaving|dump(?:ing)?|cache hit|hit|"
                        r"validated|routing|polling|heartbeat)\b", re.I),
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
# floor of the model's probabilities before the product: one expert cannot veto a level
PROB_FLOOR = 0.002


def wording_prior(keys) -> np.ndarray:
    """Lexicon probabilities [n, 5] for template keys (uniform when no cue word)."""
    out = np.empty((len(keys), N_LEVELS), dtype=np.float64)
    for i, k in enumerate(keys):
        k = k.replace("<*>", " ")
        prof = None
        # the most severe cue wins; "ok"/"debug" words only speak when no problem word does
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
