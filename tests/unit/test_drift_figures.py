"""Drift figures (drift.py) from counts: unseen templates, new services, PSI of level mix and lengths."""
from __future__ import annotations

import pandas as pd

from logintel.drift import drift_figures, population_stability, template_level_shift


def _counts(rows):
    return pd.DataFrame(rows, columns=["service", "template_key", "level", "lines", "flagged", "judged"])


def _lengths(rows):
    return pd.DataFrame(rows, columns=["service", "length_bin", "lines"])


def test_psi_is_zero_for_the_same_mix_and_grows_with_the_shift():
    ref = pd.Series({"INFO": 900, "WARN": 80, "ERROR": 20})
    assert population_stability(ref, ref * 3) < 1e-3
    mild = population_stability(ref, pd.Series({"INFO": 850, "WARN": 110, "ERROR": 40}))
    strong = population_stability(ref, pd.Series({"INFO": 500, "WARN": 200, "ERROR": 300}))
    assert 0 < mild < 0.1 < 0.25 < strong
    assert population_stability(ref, pd.Series({"INFO": 900, "FATAL": 100})) > 0.25  # a level never seen counts


def test_figures_per_service():
    reference = _counts([("api", "GET <*>", "INFO", 900, 0, 900), ("api", "Timeout <*>", "ERROR", 100, 10, 100),
                         ("db", "Checkpoint", "INFO", 500, 0, 500)])
    current = _counts([("api", "GET <*>", "INFO", 80, 0, 80), ("api", "Timeout <*>", "ERROR", 10, 1, 10),
                       ("api", "Feature <*> on", "INFO", 10, 0, 10),          # a new release's template
                       ("db", "Checkpoint", "INFO", 20, 0, 20),              # too few lines for a PSI
                       ("billing", "Invoice <*>", "INFO", 60, 0, 0)])        # a new service, no flags known
    ref_len = _lengths([("api", 5, 1000), ("db", 4, 500)])
    cur_len = _lengths([("api", 5, 100), ("db", 4, 20), ("billing", 6, 60)])
    f = drift_figures(reference, current, ref_len, cur_len).set_index("service")
    assert f.loc["api", "unseen_template_share"] == 0.1 and not f.loc["api", "new_service"]
    assert f.loc["api", "level_psi"] < 0.01 and f.loc["api", "length_psi"] < 0.01
    assert f.loc["api", "flag_rate"] == 0.01 and f.loc["api", "reference_flag_rate"] == 0.01
    assert pd.isna(f.loc["db", "level_psi"]) and f.loc["db", "unseen_template_share"] == 0.0
    assert f.loc["billing", "new_service"] and f.loc["billing", "unseen_template_share"] == 1.0
    assert pd.isna(f.loc["billing", "flag_rate"]) and pd.isna(f.loc["billing", "level_psi"])


def test_one_template_changing_its_level_shows_although_the_service_mix_hardly_moves():
    reference = _counts([("api", "GET <*>", "INFO", 9000, 0, 9000), ("api", "Cache miss <*>", "DEBUG", 150, 0, 150),
                         ("api", "Cache miss <*>", "INFO", 150, 0, 150), ("api", "Retry <*>", "WARN", 100, 0, 100)])
    current = _counts([("api", "GET <*>", "INFO", 9000, 0, 9000), ("api", "Cache miss <*>", "DEBUG", 30, 0, 30),
                       ("api", "Cache miss <*>", "INFO", 270, 0, 270),
                       ("api", "Retry <*>", "WARN", 30, 0, 30)])  # too few lines of Retry to judge it
    lengths = _lengths([("api", 5, 9400)])
    f = drift_figures(reference, current, lengths, lengths).set_index("service")
    assert f.loc["api", "level_psi"] < 0.05  # the service's mix: a small move
    assert f.loc["api", "template_level_psi"] > 0.5 and f.loc["api", "template_level_worst"] == "Cache miss <*>"
    assert template_level_shift(reference, reference) == (0.0, "Cache miss <*>")
    assert template_level_shift(reference.iloc[:0], current) == (None, None)
