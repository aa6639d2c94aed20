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


# ---- behaviour of the posterior and the DEBUG-share feature, one documented property each
# (mutation testing with mutmut found these untested: see the stop-23 note of issue 15)

LV = {lv: i for i, lv in enumerate(verdicts.LEVELS)}


def _counts(**n):
    row = np.zeros(len(verdicts.LEVELS))
    for lv, k in n.items():
        row[LV[lv]] = k
    return row[None, :]


def test_unknown_wording_is_uniform_and_probabilities_need_not_be_normalised():
    counts = np.vstack([_counts(INFO=40, DEBUG=3), _counts(ERROR=7, INFO=1)])
    uniform = verdicts.level_posterior(counts, np.full((2, 5), 0.2))
    unknown = verdicts.level_posterior(counts, np.array([[np.nan] * 5, [0.2, 0.2, np.nan, 0.2, 0.2]]))
    assert np.allclose(unknown, uniform)
    wording = np.array([[0.1, 0.6, 0.1, 0.1, 0.1], [0.05, 0.05, 0.1, 0.7, 0.1]])
    assert np.allclose(verdicts.level_posterior(counts, wording * 0.5), verdicts.level_posterior(counts, wording))
    # a wording probability of exactly 0 is floored, not a certain "no"
    floored = verdicts.level_posterior(_counts(ERROR=5), np.array([[0.25, 0.25, 0.25, 0.0, 0.25]]))
    assert np.isfinite(floored).all() and 0 < floored[0, LV["ERROR"]] < 1e-3


def test_a_wrong_level_is_mostly_too_low():
    # 10 odd lines among 90 INFO: DEBUG ones (demoted, the usual failure) keep INFO the true level more
    # surely than WARN ones (promoted, rare)
    flat = np.full((1, 5), 0.2)
    below = verdicts.level_posterior(_counts(INFO=90, DEBUG=10), flat)[0]
    above = verdicts.level_posterior(_counts(INFO=90, WARN=10), flat)[0]
    assert below[LV["INFO"]] > above[LV["INFO"]]
    # with the demotion share mirrored, so is the conclusion
    mirrored = verdicts.level_posterior(_counts(INFO=90, WARN=10), flat, demotion=0.01)[0]
    assert mirrored[LV["INFO"]] > above[LV["INFO"]]
    # four levels below FATAL share the demotions, none above it: lines at two lower levels are no
    # stranger than at one
    spread = verdicts.level_posterior(_counts(FATAL=20, ERROR=2, WARN=2), flat)[0]
    assert spread.argmax() == LV["FATAL"]


def test_a_whole_template_at_another_level_needs_the_call_site_prior_and_strong_wording():
    counts = _counts(INFO=30)
    says_error = np.array([[0.01, 0.01, 0.02, 0.95, 0.01]])
    with_callsite = verdicts.level_posterior(counts, says_error)[0]
    no_callsite = verdicts.level_posterior(counts, says_error, callsite=1e-12)[0]
    assert with_callsite[LV["ERROR"]] > 0.8 > 3 * no_callsite[LV["ERROR"]]
    # the wording weighs more for a pure template than for a mixed one (two powers)
    pure_weak = verdicts.level_posterior(counts, says_error, wording_power_pure=0.1)[0]
    assert pure_weak[LV["ERROR"]] < with_callsite[LV["ERROR"]]
    mixed = _counts(INFO=29, DEBUG=1)
    assert np.allclose(verdicts.level_posterior(mixed, says_error, wording_power_pure=0.1),
                       verdicts.level_posterior(mixed, says_error))


def test_the_two_call_sites_story_only_for_mixed_templates():
    flat = np.full((1, 5), 0.2)
    _, none = verdicts.level_posterior(_counts(INFO=4, FATAL=1), flat, with_legit=True)
    assert none[0] == 0.0  # legit = 0: the story is off
    _, thin = verdicts.level_posterior(_counts(INFO=4, FATAL=1), flat, legit=0.2, with_legit=True)
    _, pure = verdicts.level_posterior(_counts(INFO=5), flat, legit=0.2, with_legit=True)
    assert 0.5 < thin[0] < 1 and pure[0] == 0.0  # 1 FATAL among 4 INFO: most likely two call sites


def test_debug_share_counts_the_other_templates_of_the_same_service():
    st = pd.DataFrame([("a1", "DEBUG", 8, "svc-a"), ("a1", "INFO", 2, "svc-a"), ("a2", "INFO", 10, "svc-a"),
                       ("b1", "DEBUG", 1, "svc-b"), ("b1", "INFO", 9, "svc-b")],
                      columns=["template_key", "level", "n", "service"])
    keys = np.array(["a1", "a2", "b1"], dtype=object)
    counts = np.vstack([_counts(DEBUG=8, INFO=2), _counts(INFO=10), _counts(DEBUG=1, INFO=9)])
    assert np.allclose(verdicts._debug_share(st, keys, counts), [0.0, 0.8, 0.0])
    # without services every template is the one service's: 20 other lines each
    assert np.allclose(verdicts._debug_share(st.drop(columns="service"), keys, counts), [1 / 20, 9 / 20, 8 / 20])
