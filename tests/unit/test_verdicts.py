"""Decision rules: template consistency, call sites, anomaly flags."""
import numpy as np
import pandas as pd

from logintel import verdicts

P_COLS = [f"p_{lv}" for lv in verdicts.LEVELS]


def probs(key, **p):
    row = {"template_key": key, **{c: 0.2 for c in P_COLS}}
    for k, v in p.items():
        row[f"p_{k}"] = v
    return row


def stats(rows):
    return pd.DataFrame(rows, columns=["template_key", "level", "n"])


def test_strong_majority_flags_the_minority():
    st = stats([("Database connection failed to <*>", "ERROR", 47),
                ("Database connection failed to <*>", "INFO", 1)])
    tp = pd.DataFrame([probs("Database connection failed to <*>", ERROR=0.6, WARN=0.2, INFO=0.1, DEBUG=0.05,
                             FATAL=0.05)])
    v = verdicts.level_verdicts(st, tp)
    assert len(v) == 1
    r = v.iloc[0]
    assert (r.level, r.kind, r.suggested_level) == ("INFO", "level_understated", "ERROR")
    assert 0.95 <= r.confidence <= 1
    assert "47 of 47 other lines" in r.reason and "ERROR" in r.reason


def test_overstated_single_line():
    st = stats([("Cache hit for key <*>", "DEBUG", 2000), ("Cache hit for key <*>", "ERROR", 1)])
    tp = pd.DataFrame([probs("Cache hit for key <*>", DEBUG=0.7, INFO=0.25, WARN=0.03, ERROR=0.01, FATAL=0.01)])
    v = verdicts.level_verdicts(st, tp)
    assert v[["level", "kind", "suggested_level"]].values.tolist() == [["ERROR", "level_overstated", "DEBUG"]]


def test_pure_templates_with_neutral_wording_give_nothing():
    st = stats([("a <*>", "INFO", 100), ("b <*>", "ERROR", 3), ("c", "WARN", 1)])
    tp = pd.DataFrame([probs("a <*>"), probs("b <*>"), probs("c")])
    assert verdicts.level_verdicts(st, tp).empty


def test_balanced_mix_resolves_towards_the_severe_level():
    """Demotions are the error hunted: a template seen 50 times at WARN makes its INFO lines suspect."""
    st = stats([("x <*>", "INFO", 50), ("x <*>", "WARN", 50)])
    v = verdicts.level_verdicts(st, pd.DataFrame([probs("x <*>")]))
    assert v[["level", "kind", "suggested_level"]].values.tolist() == [["INFO", "level_understated", "WARN"]]


def test_small_severe_minority_is_overstated():
    """Promotions are rare (1 %) and two call sites may share a text: it takes a long record."""
    st = stats([("y <*>", "INFO", 3000), ("y <*>", "ERROR", 2)])
    v = verdicts.level_verdicts(st, pd.DataFrame([probs("y <*>", INFO=0.9, DEBUG=0.05, WARN=0.03, ERROR=0.01,
                                                      FATAL=0.01)]))
    assert v[["level", "kind", "suggested_level"]].values.tolist() == [["ERROR", "level_overstated", "INFO"]]


def test_callsite_needs_overwhelming_wording():
    key = "Out of memory: killed process <*>"
    st = stats([(key, "DEBUG", 30)])
    weak = pd.DataFrame([probs(key, DEBUG=0.1, INFO=0.1, WARN=0.1, ERROR=0.3, FATAL=0.4)])
    assert verdicts.level_verdicts(st, weak).empty
    strong = pd.DataFrame([probs(key, DEBUG=0.00002, INFO=0.0005, WARN=0.01, ERROR=0.05, FATAL=0.93948)])
    v = verdicts.level_verdicts(st, strong)
    assert len(v) == 1
    r = v.iloc[0]
    assert (r.kind, r.suggested_level) == ("level_understated", "FATAL")
    assert "every line" in r.reason and "FATAL" in r.reason


def test_missing_probs_and_empty_input():
    st = stats([("k <*>", "WARN", 20), ("k <*>", "DEBUG", 1)])
    v = verdicts.level_verdicts(st, None)
    assert v[["level", "suggested_level"]].values.tolist() == [["DEBUG", "WARN"]]
    assert list(verdicts.level_verdicts(stats([]), None).columns) == verdicts.VERDICT_COLUMNS


def test_posterior_rows_sum_to_one():
    post = verdicts.level_posterior(np.array([[0, 3, 0, 1, 0], [0, 0, 0, 0, 5]]), np.full((2, 5), np.nan))
    assert np.allclose(post.sum(1), 1)


def test_thin_evidence_for_two_levels_is_no_finding():
    """The same interrupt logged INFO by most nodes and FATAL by one: two call sites are as likely
    as four demoted lines, so no level is called wrong (without that hypothesis: 0.93)."""
    for rows in ([("irq <*>", "INFO", 4), ("irq <*>", "FATAL", 1)], [("irq <*>", "INFO", 40), ("irq <*>", "FATAL", 10)],
                 [("irq <*>", "INFO", 200), ("irq <*>", "ERROR", 2)]):
        assert verdicts.level_verdicts(stats(rows), pd.DataFrame([probs("irq <*>")])).empty
    keys, counts = verdicts._pivot(stats([("irq <*>", "INFO", 4), ("irq <*>", "FATAL", 1)]))
    post, legit = verdicts.level_posterior(counts, np.full((1, 5), 0.2), legit=verdicts.LEGIT_MIXED_PRIOR,
                                           with_legit=True)
    assert (1 - post[0, 1]) * (1 - legit[0]) < 0.9 < 1 - post[0, 1]
