"""Episode verdicts on anomaly flags (episodes.py): lost flags inside flagged episodes, lone flags in quiet traffic."""
from __future__ import annotations

import numpy as np
import pandas as pd

from logintel.episodes import (BUCKET_MINUTES, CALIBRATION_SHIFT, MISSED_THRESHOLD, WINDOW, _span_verdicts, anomaly_verdicts,
                               calibrated, lost_flag_probability)
from logintel.unkept_templates import LEVEL_PSEUDO, UNSEEN_MIN_FLAGS, unkept_template_verdicts

T0 = pd.Timestamp("2026-01-05 10:00", tz="UTC")
STEP = pd.Timedelta(minutes=BUCKET_MINUTES)  # one episode bucket


def _groups(rows):
    return pd.DataFrame(rows, columns=["service", "template_key", "host", "bucket", "flagged", "unflagged"])


def _baseline(rows, span=2000.0):
    df = pd.DataFrame(rows, columns=["service", "template_key", "flagged", "unflagged"])
    df["span_buckets"] = span
    return df


HOSTS = pd.DataFrame([("pay", "h1", 0.5), ("pay", "h2", 0.5)], columns=["service", "host", "share"])


def test_probability_grows_with_the_episode_and_falls_with_the_background():
    p = lost_flag_probability(np.array([1, 1, 1, 1]), np.array([2, 20, 20, 20]), np.array([0.01, 0.01, 0.5, 5.0]))
    assert p[1] > p[0] and p[1] > p[2] > p[3]
    assert p[1] > 0.95 and p[3] < 0.5
    assert lost_flag_probability(np.array([0]), np.array([5]), np.array([0.1]))[0] == 0  # nothing unflagged


def test_an_unflagged_line_inside_a_flagged_burst_is_a_missed_anomaly():
    groups = _groups([("pay", "Timeout calling <*>", "h1", T0, 25, 1),
                      ("pay", "Timeout calling <*>", "h1", T0 + STEP, 10, 0),
                      ("pay", "Charge ok <*>", "h2", T0, 2, 30)])  # a busy template with two flags: no verdict
    base = _baseline([("pay", "Timeout calling <*>", 0, 20), ("pay", "Charge ok <*>", 0, 40000)])
    v = anomaly_verdicts(groups, base, HOSTS)
    assert v[["template_key", "bucket", "kind"]].values.tolist() == [["Timeout calling <*>", T0, "missed_anomaly"]]
    assert v["confidence"].iloc[0] >= 0.9 and "35 of 36 lines" in v["reason"].iloc[0]


def test_the_window_background_is_the_templates_history_rate_over_the_window():
    """lam: the template's unflagged history lines / the history's buckets x the window's buckets;
    the window verdict's confidence is lost_flag_probability of that window, with the host's odds,
    calibrated."""
    from logintel.episodes import estimate_missed_share

    groups = _groups([("pay", "Timeout calling <*>", "h1", T0, 1, 1)])
    base = _baseline([("pay", "Timeout calling <*>", 0, 20)], span=2000.0)
    v = anomaly_verdicts(groups, base, HOSTS, missed_threshold=0.0)
    window = v[(v["kind"] == "missed_anomaly") & v["reason"].str.contains("within")]
    lam = 20 / 2000.0 * (2 * WINDOW + 1)
    assert len(window) == 1 and f"where {lam:.2f} unflagged lines are normal" in window["reason"].iloc[0]
    assert f"within {BUCKET_MINUTES * WINDOW} minutes" in window["reason"].iloc[0]
    # the span (one bucket) estimates rho from the same counts: its background is one bucket's worth at
    # the span's traffic density (one unflagged line where 0.01 are usual: capped at 4x)
    rho = estimate_missed_share(np.array([1.0]), np.array([1.0]), np.array([20 / 2000.0 * 4]))
    host_ratio = (1 + 0.5) / (1 + 1) / 0.5  # all the window's flags on h1, which carries half the traffic
    expected = calibrated(lost_flag_probability(np.array([1]), np.array([1]), np.array([lam]), rho,
                                                np.array([host_ratio])))[0]
    assert abs(window["confidence"].iloc[0] - expected) < 1e-9
    # a busier template: more background, less confidence
    busy = anomaly_verdicts(groups, _baseline([("pay", "Timeout calling <*>", 0, 2000)], span=2000.0), HOSTS,
                            missed_threshold=0.0)
    busy_window = busy[(busy["kind"] == "missed_anomaly") & busy["reason"].str.contains("within")]
    assert busy_window["confidence"].iloc[0] < window["confidence"].iloc[0]


def test_a_lone_flag_in_quiet_traffic_is_a_false_anomaly_only_when_the_template_never_was_one():
    quiet = _groups([("pay", "Charge ok <*>", "h1", T0, 1, 3)])
    never = _baseline([("pay", "Charge ok <*>", 0, 4000)])
    v = anomaly_verdicts(quiet, never, HOSTS)
    assert v["kind"].tolist() == ["false_anomaly"] and v["confidence"].iloc[0] > 0.99
    sometimes = _baseline([("pay", "Charge ok <*>", 3, 4000)])
    assert anomaly_verdicts(quiet, sometimes, HOSTS).empty
    near_others = _groups([("pay", "Charge ok <*>", "h1", T0, 1, 3),
                           ("db", "Disk full", "", T0 + WINDOW * STEP, 4, 0)])  # the window's edge
    assert (anomaly_verdicts(near_others, never, HOSTS)["kind"] != "false_anomaly").all()
    rare = _baseline([("pay", "Charge ok <*>", 0, 50)])  # too little history to be sure
    assert "false_anomaly" not in anomaly_verdicts(quiet, rare, HOSTS)["kind"].tolist()


def test_no_groups_no_verdicts():
    assert anomaly_verdicts(_groups([]), _baseline([]), HOSTS).empty


def test_an_unflagged_line_of_an_alert_template_is_a_missed_anomaly_anywhere():
    base = _baseline([("node", "Machine check interrupt <*>", 120, 0),   # an alert template
                      ("node", "Job <*> done", 3, 5000),                  # ordinary
                      ("node", "Link flap on <*>", 3, 0),                 # too few lines to be sure
                      ("node", "Retrying <*>", 30, 40),                   # flagged in episodes only: mixed
                      ("node", "Disk <*> timeout", 10, 60)])
    v = anomaly_verdicts(_groups([]), base, HOSTS)
    assert v[["template_key", "host", "kind"]].values.tolist() == [["Machine check interrupt <*>", "*", "missed_anomaly"]]
    assert v["confidence"].iloc[0] >= 0.9 and "120 of 120 earlier lines" in v["reason"].iloc[0]
    # a fifth of its history unflagged: as likely a template flagged in episodes only
    base.loc[0, ["flagged", "unflagged"]] = (96, 24)
    assert anomaly_verdicts(_groups([]), base, HOSTS).empty
    # a template new since the history: its recent lines are all it has; a mixed one stays mixed
    recent = pd.DataFrame([("node", "ECC error on <*>", 60, 1), ("node", "Retrying <*>", 40, 0)],
                          columns=["service", "template_key", "flagged", "unflagged"])
    v = anomaly_verdicts(_groups([]), base, HOSTS, recent=recent)
    assert v["template_key"].tolist() == ["ECC error on <*>"] and "60 of 61 lines so far" in v["reason"].iloc[0]
    assert anomaly_verdicts(_groups([]), base, HOSTS).empty  # without the recent counts: nothing


def test_a_lost_flag_in_a_long_outage_is_judged_on_the_whole_span():
    # an outage of twelve buckets: 2 flagged retries per bucket on h1, one line in the middle lost
    # its flag; the other service's normal traffic in those minutes sets the span's traffic density
    tpl = "Retrying request to <*>"
    rows = [("pay", tpl, "h1", T0 + i * STEP, 2, 0) for i in range(12)]
    rows[6] = ("pay", tpl, "h1", T0 + 6 * STEP, 2, 1)
    rows += [("pay", "Charge ok <*>", "h2", T0 + i * STEP, 0, 30) for i in range(12)]
    base = _baseline([("pay", tpl, 0, 30), ("pay", "Charge ok <*>", 0, 60000)])
    v = anomaly_verdicts(_groups(rows), base, HOSTS)
    assert v[["host", "bucket", "kind"]].values.tolist() == [["h1", T0 + 6 * STEP, "missed_anomaly"]]
    # the stronger of the window and span verdicts is kept; both name their evidence
    reason = v["reason"].iloc[0]
    in_window = 2 * (2 * WINDOW + 1)
    assert v["confidence"].iloc[0] >= MISSED_THRESHOLD
    assert "24 of 25 lines" in reason or f"{in_window} of {in_window + 1} lines" in reason
    g = _groups(rows).assign(bucket=lambda d: pd.to_datetime(d["bucket"], utc=True), hist_unflagged=[30] * 12 + [60000] * 12,
                             share=0.5, slow=False)
    span_rows, rho = _span_verdicts(g, 2000.0, 60030 / 2000, MISSED_THRESHOLD)
    # the host's part of the span and the span on all hosts both judge the line
    assert {(r[2], r[3], r[5]) for r in span_rows} == {("h1", T0 + 6 * STEP, "missed_anomaly")}
    assert "24 of 25 lines" in span_rows[0][7] and f"{12 * BUCKET_MINUTES}-minute episode" in span_rows[0][7]
    assert 0.02 < rho < 0.1  # one lost flag among 25 episode lines, smoothed towards the prior
    # the same outage without the lost line: nothing to find
    rows[6] = ("pay", tpl, "h1", T0 + 6 * STEP, 2, 0)
    assert anomaly_verdicts(_groups(rows), base, HOSTS).empty
    # a busy template (its background explains the unflagged line): no span verdict
    assert _span_verdicts(g.assign(hist_unflagged=60000), 2000.0, 120000 / 2000, 0.9)[0] == []
    assert _span_verdicts(g.assign(flagged=0), 2000.0, 60030 / 2000, 0.9) == ([], None)  # no episode: no estimate


def test_the_share_of_lost_flags_comes_from_the_logs_since_the_history():
    # the same outage twice: once in the history (every flag kept), once since (one flag lost);
    # the share of lost flags is the new logs' own, not diluted by the history's
    tpl = "Retrying request to <*>"
    later = T0 + pd.Timedelta(hours=6)
    rows = [("pay", tpl, "h1", start + i * STEP, 2, 1 if (start == later and i == 6) else 0)
            for start in (T0, later) for i in range(12)]
    g = _groups(rows).assign(bucket=lambda d: pd.to_datetime(d["bucket"], utc=True), hist_unflagged=30, share=0.5,
                             slow=False)
    g["recent"] = np.where(g["bucket"] >= later, g["flagged"] + g["unflagged"], 0)
    _, rho_new = _span_verdicts(g, 2000.0, 30 / 2000, 0.9)
    _, rho_all = _span_verdicts(g.drop(columns="recent"), 2000.0, 30 / 2000, 0.9)
    _, rho_alone = _span_verdicts(g[g["bucket"] >= later], 2000.0, 30 / 2000, 0.9)
    assert rho_new == rho_alone and rho_new > 1.5 * rho_all
    # without any span wholly since the history, every span counts
    assert _span_verdicts(g.assign(recent=0), 2000.0, 30 / 2000, 0.9)[1] == rho_all


def test_an_outage_spread_over_hosts_is_judged_on_all_of_them():
    # a 30-minute outage seen by twelve callers, one flagged retry each; three other callers' retries
    # lost their flags. No host has an episode of its own; all of them together do.
    tpl = "Upstream <*> unavailable"
    hosts = pd.DataFrame([("gw", f"gw{i}", 1 / 15) for i in range(15)], columns=["service", "host", "share"])
    rows = [("gw", tpl, f"gw{i}", T0 + (i // 2) * STEP, 1, 0) for i in range(12)]
    rows += [("gw", tpl, f"gw{i}", T0 + (i - 11) * STEP, 0, 1) for i in (12, 13, 14)]
    rows += [("gw", "Request ok <*>", "gw0", T0 + b * STEP, 0, 200) for b in range(6)]
    g = _groups(rows).assign(bucket=lambda d: pd.to_datetime(d["bucket"], utc=True),
                             hist_unflagged=[20] * 15 + [400000] * 6, share=1 / 15, slow=False)
    span_rows, _ = _span_verdicts(g, 2000.0, 400020 / 2000, 0.9)
    assert sorted((r[2], r[3]) for r in span_rows) == [(f"gw{i}", T0 + (i - 11) * STEP) for i in (12, 13, 14)]
    assert all("on all its hosts" in r[7] and "12 of 15 lines" in r[7] for r in span_rows)
    v = anomaly_verdicts(_groups(rows), _baseline([("gw", tpl, 0, 20), ("gw", "Request ok <*>", 0, 400000)]), hosts)
    assert sorted(v.loc[v["kind"] == "missed_anomaly", "host"]) == ["gw12", "gw13", "gw14"]


def test_slow_lines_are_judged_apart_from_the_ordinary_ones():
    # a latency episode: the template's slow lines are flagged, one slow line lost its flag; the
    # same template's ordinary lines in those minutes are as many as always and are left alone
    tpl = "Slow response from <*>: <*>"
    rows = [("pay", tpl, "h1", T0 + b * STEP, True, 12, 1 if b == 2 else 0) for b in range(4)]
    rows += [("pay", tpl, "h1", T0 + b * STEP, False, 0, 6) for b in range(4)]
    groups = pd.DataFrame(rows, columns=["service", "template_key", "host", "bucket", "slow", "flagged", "unflagged"])
    base = pd.DataFrame([("pay", tpl, False, 0, 9950), ("pay", tpl, True, 0, 50)],
                        columns=["service", "template_key", "slow", "flagged", "unflagged"]).assign(span_buckets=2000.0)
    v = anomaly_verdicts(groups, base, HOSTS)
    assert v[["bucket", "slow", "kind"]].values.tolist() == [[T0 + 2 * STEP, True, "missed_anomaly"]]
    assert "slow lines" in v["reason"].iloc[0]
    # counted together, the slow lines' flags drown in the template's ordinary traffic
    together = groups.groupby(["service", "template_key", "host", "bucket"], as_index=False)[["flagged", "unflagged"]].sum()
    base_together = base.groupby(["service", "template_key"], as_index=False)[["flagged", "unflagged"]].sum().assign(
        span_buckets=2000.0)
    assert anomaly_verdicts(together, base_together, HOSTS).empty


def _lost_flag_by_hand(u: int, f: int, lam: float, rho: float, host_ratio: float, max_lost: int) -> float:
    """The window's story, one window and one count at a time: c of its episode lines lost their
    flag (negative binomial: f kept flags, each line lost with probability rho), the other u - c
    unflagged lines are background (Poisson, mean lam); the answer is E[c] / u, then the host's
    likelihood ratio on the odds."""
    import math

    if u == 0:
        return 0.0
    lam = max(lam, 1e-4)
    logs = []
    for c in range(0, min(max_lost, u) + 1):
        prior = (math.lgamma(f + c + 1) - math.lgamma(c + 1) - math.lgamma(f + 1)
                 + c * math.log(rho) + (f + 1) * math.log1p(-rho))
        background = (u - c) * math.log(lam) - lam - math.lgamma(u - c + 1)
        logs.append((c, prior + background))
    top = max(w for _, w in logs)
    total = sum(math.exp(w - top) for _, w in logs)
    p = sum(c * math.exp(w - top) for c, w in logs) / total / u
    odds = p / max(1 - p, 1e-12) * host_ratio
    return odds / (1 + odds)


def test_lost_flag_probability_is_the_windows_story_worked_out_by_hand():
    rng = np.random.default_rng(5)
    n = 60
    u = rng.integers(0, 25, n)
    f = rng.integers(0, 40, n)
    lam = rng.uniform(0.0, 12.0, n)
    lam[:3] = 0.0  # no background at all: floored, not log(0)
    ratio = rng.uniform(0.2, 5.0, n)
    for rho, max_lost in ((0.1, 200), (0.3, 200), (0.1, 6)):
        got = lost_flag_probability(u, f, lam, rho=rho, host_ratio=ratio, max_lost=max_lost)
        want = [_lost_flag_by_hand(int(a), int(b), float(c), rho, float(r), max_lost)
                for a, b, c, r in zip(u, f, lam, ratio)]
        assert np.allclose(got, want, rtol=1e-9, atol=1e-12)
    plain = lost_flag_probability(u, f, lam)  # no host evidence: ratio 1
    assert np.allclose(plain, [_lost_flag_by_hand(int(a), int(b), float(c), 0.1, 1.0, 200)
                               for a, b, c in zip(u, f, lam)], rtol=1e-9, atol=1e-12)
    assert len(lost_flag_probability(np.array([]), np.array([]), np.array([]))) == 0


def test_calibration_shifts_the_log_odds_and_the_cut_applies_after_it():
    """calibrated(p): logit(p) + CALIBRATION_SHIFT (a posterior of 0.9 is right about 8 times in 10
    on the grid); a window verdict is made when the calibrated value reaches missed_threshold."""
    p = np.array([0.1, 0.5, 0.9, 0.99])
    logit = lambda q: np.log(q / (1 - q))  # noqa: E731
    assert np.allclose(logit(calibrated(p)), logit(p) + CALIBRATION_SHIFT)
    assert np.allclose(calibrated(p, shift=0.0), p)
    assert CALIBRATION_SHIFT < 0 and calibrated(np.array([0.9]))[0] < 0.85
    groups = _groups([("pay", "Timeout calling <*>", "h1", T0, 1, 1)])
    base = _baseline([("pay", "Timeout calling <*>", 0, 20)], span=2000.0)
    conf = anomaly_verdicts(groups, base, HOSTS, missed_threshold=0.0)["confidence"].max()
    assert len(anomaly_verdicts(groups, base, HOSTS, missed_threshold=conf)) == 1
    assert anomaly_verdicts(groups, base, HOSTS, missed_threshold=conf + 1e-6).empty


def _burst(extra, host_flags: str = "h1"):
    """An error burst of pay on `host_flags` over ten buckets: 8 kept flags of its main error and
    one of four rarer ones (four templates with a single kept flag), plus `extra` rows; the
    service's ordinary traffic on h2. Rows carry the lines' level."""
    main, rare = "Timeout calling <*>", [f"Card error {c} <*>" for c in "ABCD"]
    rows = [("pay", main, host_flags, T0 + i * STEP, 1, 0, "ERROR") for i in range(8)]
    rows += [("pay", k, host_flags, T0 + (i + 1) * STEP, 1, 0, "ERROR") for i, k in enumerate(rare)]
    rows += [("pay", "Charge ok <*>", "h2", T0 + i * STEP, 0, 30, "INFO") for i in range(10)]
    groups = pd.DataFrame(rows + extra, columns=["service", "template_key", "host", "bucket", "flagged", "unflagged",
                                                 "level"])
    base = _baseline([("pay", main, 0, 20), *[("pay", k, 0, 5) for k in rare], ("pay", "Charge ok <*>", 0, 60000),
                      ("pay", "Cache warmed <*>", 0, 2)])
    return groups, base


def test_a_lost_flag_of_a_template_without_kept_flags_in_the_episode_is_found_by_its_level_and_rarity():
    # a never-seen ERROR template on the burst's host, unflagged: one of the burst's lines whose flag was lost
    lost = ("pay", "Ledger write failed <*>", "h1", T0 + 4 * STEP, 0, 1, "ERROR")
    groups, base = _burst([lost])
    assert UNSEEN_MIN_FLAGS <= 12
    v = anomaly_verdicts(groups, base, HOSTS)
    found = v[v["template_key"] == "Ledger write failed <*>"]
    assert found[["host", "bucket", "kind"]].values.tolist() == [["h1", T0 + 4 * STEP, "missed_anomaly"]]
    assert found["confidence"].iloc[0] >= MISSED_THRESHOLD
    reason = found["reason"].iloc[0]
    assert "12 lines of pay on h1" in reason and "12 of them ERROR" in reason and "none of" in reason
    assert len(v) == 1  # the burst's kept flags explain nothing else
    # the rows without their level (an older caller): that verdict is not made
    assert anomaly_verdicts(groups.drop(columns="level"), base, HOSTS).empty


def test_no_verdict_for_another_level_another_host_a_common_template_or_a_small_episode():
    groups, base = _burst([("pay", "Cache warmed <*>", "h1", T0 + 4 * STEP, 0, 1, "INFO")])  # the burst has no INFO flags
    assert anomaly_verdicts(groups, base, HOSTS).empty
    groups, base = _burst([("pay", "Ledger write failed <*>", "h2", T0 + 4 * STEP, 0, 1, "ERROR")])  # no flags on h2
    assert anomaly_verdicts(groups, base, HOSTS).empty
    groups, base = _burst([("pay", "Charge ok <*>", "h1", T0 + 4 * STEP, 0, 1, "ERROR")])  # its background explains it
    assert anomaly_verdicts(groups, base, HOSTS).empty
    groups, base = _burst([("pay", "Ledger write failed <*>", "h1", T0 + 4 * STEP, 0, 1, "ERROR")])
    small = groups[~((groups["template_key"] == "Timeout calling <*>") & (groups["bucket"] > T0 + 2 * STEP))]
    assert small["flagged"].sum() < UNSEEN_MIN_FLAGS  # 7 kept flags: too few to share out
    assert anomaly_verdicts(small, base, HOSTS).empty
    # a template with a kept flag elsewhere in the span is judged by the span verdicts, not this one
    kept_on_h2 = ("pay", "Ledger write failed <*>", "h2", T0 + 5 * STEP, 1, 0, "ERROR")
    groups = pd.concat([groups, pd.DataFrame([kept_on_h2], columns=groups.columns)], ignore_index=True)
    assert not anomaly_verdicts(groups, base, HOSTS)["reason"].str.contains("none of").any()


def test_the_expected_lost_lines_are_shared_out_by_level_and_template_worked_out_by_hand():
    # one span on h1: 8 ERROR flags of one template, 1 each of two others (n1 = 2), 1 WARN flag of a
    # third (n1 = 3, F = 11); candidates: two unflagged ERROR templates and one WARN template
    def row(key, flagged, unflagged, level, hist):
        return ("pay", key, "h1", T0, False, level, flagged, unflagged, hist, 0.5, 0)
    s = pd.DataFrame([row("E main", 8, 0, "ERROR", 100), row("E one", 1, 0, "ERROR", 5), row("E two", 1, 0, "ERROR", 5),
                      row("W one", 1, 0, "WARN", 5), row("E cand1", 0, 1, "ERROR", 0), row("E cand2", 0, 1, "ERROR", 40),
                      row("W cand", 0, 1, "WARN", 0)],
                     columns=["service", "template_key", "host", "bucket", "slow", "level", "flagged", "unflagged",
                              "hist_unflagged", "share", "span_id"])
    rho, length = 0.2, np.array([10.0])
    lam = {"E cand1": 1e-4, "E cand2": 40 / 2000 * 10 * 0.5, "W cand": 1e-4}
    background = lambda per: per["hist_unflagged"] / 2000 * 10 * per["share"]  # noqa: E731
    rows = unkept_template_verdicts(s, background, length, rho, 0.0, pd.Series({"pay": 0.0}))
    got = {r[1]: r[6] for r in rows}
    for key, level_flags, candidates in (("E cand1", 10, 2), ("E cand2", 10, 2), ("W cand", 1, 1)):
        m = rho / (1 - rho) * 3 * (level_flags + LEVEL_PSEUDO) / (11 + 5 * LEVEL_PSEUDO) / candidates
        assert abs(got[key] - calibrated(np.array([m / (m + lam[key])]))[0]) < 1e-12, key
    assert got["E cand1"] > got["W cand"] > got["E cand2"]

    # the service flags 200 lines in the 2,000 history buckets: 0.5 of the 11 flags on h1 are usual,
    # so the expected lost lines shrink by that share
    again = {r[1]: r[6] for r in unkept_template_verdicts(s, background, length, rho, 0.0, pd.Series({"pay": 200.0}))}
    m = rho / (1 - rho) * 3 * (1 - 0.5 / 11) * (1 + LEVEL_PSEUDO) / (11 + 5 * LEVEL_PSEUDO)
    assert abs(again["W cand"] - calibrated(np.array([m / (m + 1e-4)]))[0]) < 1e-12


def test_a_source_that_flags_all_the_time_has_spans_of_flags_but_no_episode():
    # the burst's 12 flags on h1 are what pay flags in any ten minutes (its history flagged 2,400 lines
    # in 2,000 buckets, half of them on h1): no verdict on a template without kept flags
    lost = ("pay", "Ledger write failed <*>", "h1", T0 + 4 * STEP, 0, 1, "ERROR")
    groups, base = _burst([lost])
    assert len(anomaly_verdicts(groups, base, HOSTS)) == 1
    flags_always = pd.concat([base, _baseline([("pay", "Disk alert <*>", 2400, 0)])], ignore_index=True)
    assert "Ledger write failed <*>" not in anomaly_verdicts(groups, flags_always, HOSTS)["template_key"].tolist()
    # nor when the usual flags leave fewer than UNSEEN_MIN_FLAGS beyond them (12 - 2.7: 9.3)
    assert "Ledger write failed <*>" not in anomaly_verdicts(
        groups, pd.concat([base, _baseline([("pay", "Disk alert <*>", 1200, 1)])], ignore_index=True),
        HOSTS)["template_key"].tolist()


def test_a_template_new_since_the_history_but_common_in_the_new_logs_is_no_evidence():
    # the never-seen ERROR template is 1 of the service's 10,000 unflagged lines since the history (its
    # one line here): a lost flag; when 3,000 of them lie outside the span, it is new traffic
    lost = ("pay", "Ledger write failed <*>", "h1", T0 + 4 * STEP, 0, 1, "ERROR")
    groups, base = _burst([lost])

    def since(ledger_lines: int) -> pd.DataFrame:
        return pd.DataFrame([("pay", "Ledger write failed <*>", 0, ledger_lines), ("pay", "Charge ok <*>", 0, 10000 - ledger_lines)],
                            columns=["service", "template_key", "flagged", "unflagged"])

    found = anomaly_verdicts(groups, base, HOSTS, recent=since(1))
    assert found["template_key"].tolist() == ["Ledger write failed <*>"]
    assert anomaly_verdicts(groups, base, HOSTS, recent=since(3000)).empty


def test_a_span_background_follows_its_services_own_traffic():
    # pay logs 4x its usual traffic during a 10-minute episode while the busy web service logs as
    # usual: the platform's density (~1) would make pay's background 4x too small
    tpl = "Retrying request to <*>"
    rows = [("pay", tpl, "h1", T0 + i * STEP, 2, 1 if i == 5 else 0) for i in range(10)]
    rows += [("pay", "Charge ok <*>", "h2", T0 + i * STEP, 0, 4) for i in range(10)]
    rows += [("web", "Page ok <*>", "w1", T0 + i * STEP, 0, 100) for i in range(10)]
    hist = {tpl: 20, "Charge ok <*>": 2000, "Page ok <*>": 200000}
    g = _groups(rows).assign(bucket=lambda d: pd.to_datetime(d["bucket"], utc=True), share=1.0, slow=False)
    g["hist_unflagged"] = g["template_key"].map(hist)
    rates = pd.Series({"pay": 2020 / 2000, "web": 200000 / 2000})
    history_rate = float(rates.sum())

    def span_lam(**kw) -> float:
        rows, _ = _span_verdicts(g, 2000.0, history_rate, 0.0, **kw)
        reason = next(r[7] for r in rows if "on all its hosts" in r[7])
        return float(reason.split("where ")[1].split(" unflagged")[0])

    own = min(41 / (rates["pay"] * 10), 4.0)
    platform = (41 + 1000) / (history_rate * 10)
    assert span_lam(service_rates=rates) == round(20 / 2000 * 10 * own, 2)
    assert span_lam() == round(20 / 2000 * 10 * platform, 2)


def test_each_rows_window_sums_are_the_sums_over_its_neighbouring_buckets_of_its_own_key():
    """episodes._window_sum against a plain loop: keys whose buckets sit at both ends of the time
    range (a shifted bucket must never reach another key's), gaps, several rows per cell."""
    from logintel.episodes import _window_sum

    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({"a": rng.choice(["x", "y", "z"], n), "b": rng.choice([True, False], n),
                          "bucket": T0 + STEP * rng.integers(0, 40, n), "f": rng.integers(0, 5, n),
                          "u": rng.integers(0, 9, n)})
    # one key only at the last bucket, the next only at the first: neighbours in number, not in time
    frame.loc[0, ["a", "b", "bucket"]] = ["w", True, T0 + STEP * 39]
    frame.loc[1, ["a", "b", "bucket"]] = ["v", True, T0]
    got = _window_sum(frame, ["a", "b"], ["f", "u"])
    for i, row in frame.iterrows():
        near = frame[(frame["a"] == row["a"]) & (frame["b"] == row["b"])
                     & ((frame["bucket"] - row["bucket"]).abs() <= STEP * WINDOW)]
        assert tuple(got[i]) == (near["f"].sum(), near["u"].sum()), i
