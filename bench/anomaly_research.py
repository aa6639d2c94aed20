"""In-memory harness for the anomaly verdicts on new logs (research only; the product's
figures come from ``bench/detection.py``).

Generates synthetic logs (fixed start), takes the first 70 % by time as the history and the
rest as new logs, clears a share of the new logs' flags, builds the three frames the findings
step reads from PostgreSQL (``findings/anomaly_window_stats.sql``, ``anomaly_baseline.sql``,
``host_shares.sql``) with pandas, runs ``episodes.anomaly_verdicts`` and scores the
missed-anomaly findings against the cleared flags, per episode kind.

    .venv/bin/python bench/anomaly_research.py                   # seeds 42 7 11, rates 0 .03 .10 .20
    .venv/bin/python bench/anomaly_research.py --seeds 1 2 3 --logs 100000
    .venv/bin/python bench/anomaly_research.py --baseline --thresholds 0.3 0.5 0.7   # the peer baseline
    .venv/bin/python bench/anomaly_research.py --oracle --seeds 42 7 11 1 2 3          # the Bayes bound
    .venv/bin/python bench/anomaly_research.py --calibration --seeds 42 7 11 --check-seeds 1 2 3
    .venv/bin/python bench/anomaly_research.py --seeds 42 7 11 4 5 6 --draws 4      # the FIT seeds, 4 clearing draws
    .venv/bin/python bench/anomaly_research.py --seeds 1 2 3 8 9 10 --draws 4       # the CHECK seeds (never tuned on)
    .venv/bin/python bench/anomaly_research.py --ranking --seeds 42 7 11 4 5 6 --draws 4  # + best R@P.9, AP

``--calibration`` fits ``episodes.CALIBRATION_SHIFT``: the uncalibrated lost-flag posterior of
every unflagged new line (window, span and alert-template verdicts from 0.2 up) against whether
its flag was cleared, on ``--seeds`` (rates 3/10/20 %); a log-odds shift fitted by maximum
likelihood; then, on ``--check-seeds``, the calibrated confidences by band (how many were right,
expected calibration error) and precision / recall at a few cuts.

``--oracle`` scores the same lines with the generator's own intensities instead of estimates:
each episode's exact time range and line count per template and host, the expected background
of each template per host and minute, and how often slow lines are slow in and out of a latency
episode. P(lost flag) = rho mu / (rho mu + lam) per line, with rho the true clearing rate. No
detector can know more than that from the logs (template, host, minute, duration), so its best
recall at precision >= 0.9 (``best R@P.9``) bounds what any method can reach.

``--ranking`` ranks the product's lines the same way (every unflagged line by its strongest
missed-anomaly confidence, however low): ``best R@P.9`` and average precision (``AP``) measure
the ranking apart from the cut, comparable with the oracle's. ``--draws K`` clears K random
draws of flags per seed and rate (draw 0 is the original draw): one draw at 3 % clears about
12 flags per seed, too few to compare two rankings on.
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "include"))

from logintel import episodes  # noqa: E402
from logintel.durations import durations_ms  # noqa: E402
from logintel.masking import TemplateMasker  # noqa: E402
from logintel.synthetic import generate  # noqa: E402

START = datetime(2026, 1, 5, tzinfo=UTC)
HISTORY_SHARE = 0.7


def load(n: int, seed: int) -> pd.DataFrame:
    df = pd.DataFrame(generate(n, days=7, seed=seed, start=START))
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    masker = TemplateMasker()
    df["template_key"] = masker.keys(df["message"])
    df["host"] = df["host"].fillna("").astype(str)
    df["bucket"] = df["ts"].dt.floor(f"{episodes.BUCKET_MINUTES}min")
    df["duration_ms"] = durations_ms(df["message"])
    return df


def mark_slow(hist: pd.DataFrame, new: pd.DataFrame, slow: bool = True) -> None:
    """`slow` on both frames, as sql/findings/store_duration_limits.sql and the window stats."""
    tpl = ["service", "template_key"]
    known = hist[~hist["is_anomaly"] & hist["duration_ms"].notna()].groupby(tpl)["duration_ms"]
    limits = known.quantile(0.95)[known.size() >= 20]
    for d in (hist, new):
        limit = limits.reindex(pd.MultiIndex.from_frame(d[tpl])).to_numpy()
        d["slow"] = slow & (d["duration_ms"].to_numpy() > limit)


def frames(hist: pd.DataFrame, new: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The window stats of the new logs, the history's baseline and host shares, the new logs'
    counts per template (as the SQL)."""
    keys = ["service", "template_key", "host", "bucket", "slow", "level"]
    g = new.groupby(keys, sort=False)["is_anomaly"].agg(flagged="sum", unflagged=lambda s: int((~s).sum()))
    g = g.reset_index()
    hot_b = g.loc[g["flagged"] > 0, "bucket"].unique()
    step = pd.Timedelta(minutes=episodes.BUCKET_MINUTES)
    hot = set()
    for d in range(-episodes.WINDOW, episodes.WINDOW + 1):
        hot.update(pd.DatetimeIndex(hot_b) + d * step)
    g = g[g["bucket"].isin(hot)].reset_index(drop=True)
    span = max(1.0, (hist["ts"].max() - hist["ts"].min()).total_seconds() / (60.0 * episodes.BUCKET_MINUTES))
    base = hist.groupby(["service", "template_key", "slow"])["is_anomaly"].agg(
        flagged="sum", unflagged=lambda s: int((~s).sum())).reset_index()
    base["span_buckets"] = span
    cnt = hist.groupby(["service", "host"]).size()
    shares = (cnt / cnt.groupby(level=0).transform("sum")).rename("share").reset_index()
    recent = new.groupby(["service", "template_key"])["is_anomaly"].agg(
        flagged="sum", unflagged=lambda s: int((~s).sum())).reset_index()
    return g, base, shares, recent


def score(new: pd.DataFrame, cleared: np.ndarray, verdicts: pd.DataFrame) -> dict:
    """Missed-anomaly findings per line (a verdict covers the unflagged lines of its group)."""
    v = verdicts[verdicts["kind"] == "missed_anomaly"]
    un = new[~new["is_anomaly"]]
    hit = np.zeros(len(un), bool)
    if len(v):
        exact = v[v["host"] != episodes.ALL_HOSTS][["service", "template_key", "host", "bucket", "slow"]]
        exact = exact.assign(bucket=pd.to_datetime(exact["bucket"], utc=True), _hit=True).drop_duplicates()
        m = un[["service", "template_key", "host", "bucket", "slow"]].merge(exact, how="left")
        hit |= m["_hit"].fillna(False).to_numpy(bool)
        wide = v[v["host"] == episodes.ALL_HOSTS][["service", "template_key"]].assign(_hit=True).drop_duplicates()
        m = un[["service", "template_key"]].merge(wide, how="left")
        hit |= m["_hit"].fillna(False).to_numpy(bool)
    truth = un.index.isin(cleared)
    tp = int((hit & truth).sum())
    fp = int((hit & ~truth).sum())
    out = {"lines": len(new), "injected": int(truth.sum()), "findings": int(hit.sum()), "tp": tp, "fp": fp,
           "false_anomaly": int((verdicts["kind"] == "false_anomaly").sum())}
    kinds = un["_episode"].fillna("none").to_numpy()
    for k in sorted(set(kinds[truth])):
        sel = truth & (kinds == k)
        out[f"R[{k}]"] = f"{int((hit & sel).sum())}/{int(sel.sum())}"
    return out


def text_baseline(hist: pd.DataFrame, new: pd.DataFrame, cleared: np.ndarray, threshold: float = 0.5) -> dict:
    """The peer baseline: TF-IDF of the message (words and the service, host) + logistic
    regression on the history's flags; an unflagged new line it scores >= `threshold` is a
    missed anomaly. Scored like the verdicts."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def text(d: pd.DataFrame) -> pd.Series:
        return d["service"] + " " + d["host"] + " " + d["message"]

    vec = TfidfVectorizer(min_df=2, ngram_range=(1, 2), max_features=200_000)
    model = LogisticRegression(C=4.0, max_iter=1000).fit(vec.fit_transform(text(hist)), hist["is_anomaly"].astype(bool))
    un = new[~new["is_anomaly"]]
    hit = model.predict_proba(vec.transform(text(un)))[:, 1] >= threshold
    truth = un.index.isin(cleared)
    return {"lines": len(new), "injected": int(truth.sum()), "findings": int(hit.sum()), "tp": int((hit & truth).sum()),
            "fp": int((hit & ~truth).sum()), "false_anomaly": 0}


def oracle_probability(seed: int, n: int, new: pd.DataFrame, rate: float, minutes: int = 1) -> np.ndarray:
    """P(an unflagged new line lost its flag) from the generator's own intensities (see the
    module docstring), per line of ``new[~new.is_anomaly]``."""
    from logintel.synthetic import generator as gen

    plan = gen._Plan(n, 7, seed, START)
    un = new[~new["is_anomaly"]]
    width = minutes * 60_000
    k = un["_template"].map({t: i for i, t in enumerate(gen.TPL_IDS)}).to_numpy()
    svc = gen.TPL_SVC[k]
    n_hosts = np.array([len(gen._HOSTS[s]) for s in svc], dtype=np.float64)
    host = np.array([list(gen._HOSTS[s]).index(h) for s, h in zip(svc, un["host"])])
    t = ((un["ts"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)).to_numpy() - plan.start_ms
    b0 = (t // width) * width
    # background: the template's expected normal lines on one host in the line's minute (none while its service is down)
    lam = np.array([plan.expected(int(a), int(a) + width) for a in b0]) * gen.P_NORMAL[k] / n_hosts
    for down, d0, d1 in plan.downs:
        lam[(svc == down) & (t >= d0) & (t < d1)] = 0.0
    # episode lines: each episode's lines of a template (on its host, or spread over all hosts) evenly over its time range
    mu = np.zeros(len(un))
    for e in plan.episodes:
        t1 = max(e.t1, int(e.t.max()) + 1)
        inside = (t >= e.t0) & (t < t1)
        if not inside.any():
            continue
        cnt = pd.Series(1, index=pd.MultiIndex.from_arrays([e.k, e.host])).groupby(level=[0, 1]).size()
        forced = cnt[cnt.index.get_level_values(1) >= 0]
        spread = cnt[cnt.index.get_level_values(1) < 0].droplevel(1)
        on_host = forced.reindex(pd.MultiIndex.from_arrays([k[inside], host[inside]])).fillna(0).to_numpy()
        anywhere = spread.reindex(k[inside]).fillna(0).to_numpy() / n_hosts[inside]
        mu[inside] += (on_host + anywhere) * width / (t1 - e.t0)
    # durations: a latency episode's lines are mostly slow, other lines 5 % of the time
    scaled = pd.Series(plan.ep_scale > 1).groupby(plan.ep_k).any().reindex(k).fillna(False).to_numpy(bool)
    lat = new[new["_episode"] == "latency_spike"]
    p_slow = float(lat["slow"].mean()) if len(lat) else 0.5
    slow = un["slow"].to_numpy(bool)
    mu = np.where(scaled, mu * np.where(slow, p_slow, 1 - p_slow), mu)
    lam = np.where(scaled, lam * np.where(slow, 0.05, 0.95), lam)
    return rate * mu / np.maximum(rate * mu + lam, 1e-12)


def best_recall(p: np.ndarray, truth: np.ndarray, precision: float = 0.9) -> float:
    """The highest recall of any cut on ``p`` whose precision is at least ``precision``."""
    if not truth.any():
        return float("nan")
    order = np.argsort(-p, kind="stable")
    tp = np.cumsum(truth[order])
    ok = tp / np.arange(1, len(p) + 1) >= precision
    return float(tp[ok].max() / truth.sum()) if ok.any() else 0.0


def average_precision(p: np.ndarray, truth: np.ndarray) -> float:
    """Precision averaged over the cleared lines, ranked by ``p`` (a line with p = 0 is never found)."""
    if not truth.any():
        return float("nan")
    order = np.argsort(-p, kind="stable")
    found = truth[order] & (p[order] > 0)
    precision = np.cumsum(found) / np.arange(1, len(p) + 1)
    return float(precision[found].sum() / truth.sum())


def batches(n: int, seeds: list[int], rates: list[float], slow: bool, draws: int = 1):
    """(seed, rate, history, new logs with `rate` of their flags cleared, the cleared index) for
    each generator seed, rate and clearing draw: the history is the first HISTORY_SHARE of the
    logs by time. Draw 0 is the original draw (seeded by seed and rate); draw d > 0 adds d to the
    seed sequence. A clean batch (rate 0) has a single draw."""
    for seed in seeds:
        df = load(n, seed)
        cut = df["ts"].quantile(HISTORY_SHARE)
        hist, new0 = df[df["ts"] <= cut].copy(), df[df["ts"] > cut].copy()
        mark_slow(hist, new0, slow)
        for rate in rates:
            for d in range(draws if rate else 1):
                new = new0.copy()
                flagged = new.index[new["is_anomaly"]].to_numpy()
                rng = np.random.default_rng([seed, int(rate * 1000)] + ([d] if d else []))
                cleared = rng.choice(flagged, int(round(rate * len(flagged))), replace=False) if rate else np.array([], int)
                new.loc[cleared, "is_anomaly"] = False
                yield seed, rate, hist, new, cleared


def run(n: int, seeds: list[int], rates: list[float], thresholds: list[float],
        verbose: bool = False, slow: bool = True, baseline: bool = False, oracle: bool = False,
        draws: int = 1, ranking: bool = False) -> pd.DataFrame:
    rows = []
    for seed, rate, hist, new, cleared in batches(n, seeds, rates, slow, draws):
        g, base, shares, recent = frames(hist, new)
        for threshold in thresholds:
            t = time.perf_counter()
            if oracle:
                un = new[~new["is_anomaly"]]
                p, truth = oracle_probability(seed, n, new, rate), un.index.isin(cleared)
                hit = p >= threshold
                figures = {"lines": len(new), "injected": int(truth.sum()), "findings": int(hit.sum()),
                           "tp": int((hit & truth).sum()), "fp": int((hit & ~truth).sum()), "false_anomaly": 0,
                           "p": p, "truth": truth}
            elif baseline:
                figures = text_baseline(hist, new, cleared, threshold)
            else:
                figures = score(new, cleared, episodes.anomaly_verdicts(g, base, shares, recent=recent,
                                                                        missed_threshold=threshold))
                if ranking:  # every line's confidence, however low, to rank by
                    conf, un = line_confidence(new, episodes.anomaly_verdicts(g, base, shares, recent=recent,
                                                                              missed_threshold=1e-4))
                    figures |= {"p": conf, "truth": un.index.isin(cleared)}
            rows.append({"seed": seed, "rate": rate, "threshold": threshold, **figures,
                         "secs": round(time.perf_counter() - t, 2)})
            if verbose:
                print({k: v for k, v in rows[-1].items() if k not in ("p", "truth")}, flush=True)
    return pd.DataFrame(rows)


def line_confidence(new: pd.DataFrame, verdicts: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Each unflagged new line's strongest missed-anomaly confidence (0 without a verdict)."""
    v = verdicts[verdicts["kind"] == "missed_anomaly"]
    un = new[~new["is_anomaly"]]
    conf = np.zeros(len(un))
    keys = ["service", "template_key", "host", "bucket", "slow"]
    exact = v[v["host"] != episodes.ALL_HOSTS].assign(bucket=lambda d: pd.to_datetime(d["bucket"], utc=True))
    wide = v[v["host"] == episodes.ALL_HOSTS]
    for on, part in ((keys, exact), (keys[:2], wide)):
        best = part.groupby(on)["confidence"].max().rename("c").reset_index()
        conf = np.maximum(conf, un[on].merge(best, how="left")["c"].fillna(0).to_numpy())
    return conf, un


def raw_posteriors(n: int, seeds: list[int], rates: list[float], slow: bool, draws: int = 1) -> pd.DataFrame:
    """seed, rate, draw, conf (uncalibrated, >= 0.2), truth (the line's flag was cleared), injected."""
    shift, episodes.CALIBRATION_SHIFT = episodes.CALIBRATION_SHIFT, 0.0
    out = []
    last, draw = None, 0
    try:
        for seed, rate, hist, new, cleared in batches(n, seeds, rates, slow, draws):
            draw = draw + 1 if (seed, rate) == last else 0
            last = (seed, rate)
            g, base, shares, recent = frames(hist, new)
            conf, un = line_confidence(new, episodes.anomaly_verdicts(g, base, shares, recent=recent,
                                                                     threshold=0.2, missed_threshold=0.2))
            truth = un.index.isin(cleared)
            has = conf > 0
            out.append(pd.DataFrame({"seed": seed, "rate": rate, "draw": draw, "conf": conf[has], "truth": truth[has],
                                     "injected": int(truth.sum())}))
    finally:
        episodes.CALIBRATION_SHIFT = shift
    return pd.concat(out, ignore_index=True)


def calibration(n: int, fit_seeds: list[int], check_seeds: list[int], rates: list[float], slow: bool,
                draws: int = 1) -> int:
    from scipy.optimize import minimize_scalar

    fit = raw_posteriors(n, fit_seeds, rates, slow, draws)
    z = lambda p: np.log(np.clip(p, 1e-9, 1 - 1e-9)) - np.log1p(-np.clip(p, 1e-9, 1 - 1e-9))  # noqa: E731
    x, y = z(fit["conf"].to_numpy()), fit["truth"].to_numpy(float)

    def nll(b: float) -> float:
        q = np.clip(1 / (1 + np.exp(-(x + b))), 1e-12, 1 - 1e-12)
        return float(-(y * np.log(q) + (1 - y) * np.log1p(-q)).sum())

    shift = float(minimize_scalar(nll, bounds=(-5, 5), method="bounded").x)
    print(f"fitted on seeds {fit_seeds}: log-odds shift {shift:.3f} (episodes.CALIBRATION_SHIFT = "
          f"{episodes.CALIBRATION_SHIFT})")
    check = raw_posteriors(n, check_seeds, rates, slow, draws)
    check["c"] = episodes.calibrated(check["conf"].to_numpy())
    bands = pd.cut(check["c"], [0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0001])
    table = check.groupby(bands, observed=True).agg(lines=("truth", "size"), confidence=("c", "mean"),
                                                     right=("truth", "mean"))
    ece = float((table["lines"] * (table["confidence"] - table["right"]).abs()).sum() / table["lines"].sum())
    print(f"checked on seeds {check_seeds} with the product's shift: expected calibration error {ece:.3f}")
    print(table.round(3).to_string())
    rows = []
    for rate, g in check.groupby("rate"):
        injected = int(g.groupby(["seed", "draw"])["injected"].first().sum())
        for cut in (0.5, 0.7, 0.9):
            hit = g["c"] >= cut
            tp = int((hit & g["truth"]).sum())
            rows.append({"rate": rate, "cut": cut, "injected": injected, "findings": int(hit.sum()),
                         "precision": round(tp / max(int(hit.sum()), 1), 3), "recall": round(tp / max(injected, 1), 3)})
    print(pd.DataFrame(rows).to_string(index=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logs", type=int, default=100_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[42, 7, 11])
    ap.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.03, 0.10, 0.20])
    ap.add_argument("--thresholds", type=float, nargs="+", default=[episodes.MISSED_THRESHOLD],
                    help="the missed-anomaly cut (calibrated scale)")
    ap.add_argument("--no-slow", dest="slow", action="store_false", help="count slow lines with the others")
    ap.add_argument("--baseline", action="store_true",
                    help="the peer baseline instead (TF-IDF + logistic regression on the history's flags)")
    ap.add_argument("--oracle", action="store_true",
                    help="the Bayes bound instead (the generator's own intensities; see the module docstring)")
    ap.add_argument("--calibration", action="store_true",
                    help="fit the calibration shift on --seeds and check it on --check-seeds")
    ap.add_argument("--check-seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--ranking", action="store_true",
                    help="also rank every unflagged line by its confidence: best R@P.9 and average precision")
    ap.add_argument("--draws", type=int, default=1,
                    help="random clearing draws per seed and rate (draw 0 is the original one)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every run, with recall per episode kind")
    args = ap.parse_args(argv)
    if args.calibration:
        return calibration(args.logs, args.seeds, args.check_seeds, [r for r in args.rates if r > 0], args.slow,
                           args.draws)
    res = run(args.logs, args.seeds, args.rates, args.thresholds, args.verbose, args.slow, args.baseline, args.oracle,
              args.draws, args.ranking and not args.baseline)
    pooled = res.groupby(["threshold", "rate"])[["lines", "injected", "findings", "tp", "fp", "false_anomaly"]].sum()
    pooled["precision"] = (pooled["tp"] / pooled["findings"].where(pooled["findings"] > 0)).round(3)
    pooled["recall"] = (pooled["tp"] / pooled["injected"].where(pooled["injected"] > 0)).round(3)
    pooled["findings/line %"] = (100 * pooled["fp"] / pooled["lines"]).round(3)
    if "p" in res:  # the oracle's or --ranking: the best cut over all seeds' lines pooled
        ranked = {key: (np.concatenate(list(g["p"])), np.concatenate(list(g["truth"])))
                  for key, g in res.groupby(["threshold", "rate"])}
        pooled["best R@P.9"] = [round(best_recall(*ranked[key]), 3) for key in pooled.index]
        pooled["AP"] = [round(average_precision(*ranked[key]), 3) for key in pooled.index]
    print(pooled.to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
