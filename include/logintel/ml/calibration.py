"""Tempering of the level model's probabilities.

* :func:`shrink_towards_uniform`: probabilities learned from few templates are mixed
  with a uniform distribution with weight ``alpha / (n + alpha)``, n = training
  templates of the row's service (13 INFO-only templates do not make WARN impossible).
* :func:`fit_temperature` / :func:`apply_temperature`: one temperature fitted on the
  training templates' OUT-OF-GROUP predictions (>= 20 templates), so the calibration
  is judged on predictions the model made without seeing the template.

A logistic calibration map on log-probabilities was tried: it lowered recall on mixed
templates (bench/detect_research.py) and did not make call-site findings precise, so
temperature scaling is the only calibration.
"""
from __future__ import annotations

import numpy as np

from ..vocab import LEVELS

N_LEVELS = len(LEVELS)
MIN_TEMPERATURE_TEMPLATES = 20
TEMPERATURE_BOUNDS = (0.5, 4.0)


def shrink_towards_uniform(p: np.ndarray, n_templates: np.ndarray, alpha: float) -> np.ndarray:
    """Mix in a uniform distribution with weight alpha / (n + alpha) (Laplace's rule of
    succession), n = training templates of the row's service."""
    lam = alpha / (np.asarray(n_templates, dtype=np.float64) + alpha)
    return (1 - lam)[:, None] * p + lam[:, None] / N_LEVELS


def apply_temperature(p: np.ndarray, temperature: float) -> np.ndarray:
    """p ** (1/T), renormalised (T > 1 flattens, T < 1 sharpens)."""
    if temperature == 1.0 or len(p) == 0:
        return p
    q = np.power(np.clip(p, 1e-12, 1.0), 1.0 / temperature)
    return q / q.sum(1, keepdims=True)


def fit_temperature(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Temperature T minimising the weighted log loss of p**(1/T) on the out-of-group
    predictions of the training templates (T > 1 flattens an overconfident model).
    Needs >= 20 templates (1.0 otherwise); clipped to [0.5, 4]."""
    if len(y) < MIN_TEMPERATURE_TEMPLATES:
        return 1.0
    from scipy.optimize import minimize_scalar

    logp = np.log(np.clip(p, 1e-12, 1.0))
    idx = np.arange(len(y))

    def nll(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z = z - z.max(1, keepdims=True)
        lse = np.log(np.exp(z).sum(1))
        return float((w * (lse - z[idx, y])).sum())

    lo, hi = TEMPERATURE_BOUNDS
    res = minimize_scalar(nll, bounds=(np.log(lo), np.log(hi)), method="bounded")
    return float(np.exp(res.x))
