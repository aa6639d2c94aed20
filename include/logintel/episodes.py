"""Anomaly verdicts from episodes: is an unflagged line part of a flagged episode, or a
flagged line alone in quiet traffic?

A line-level score cannot tell a flagged line from its unflagged neighbour: they share the
template, the service and the minute. The evidence is the window around them. For each
(service, template, host, 1-minute bucket) the window is the bucket and the ``WINDOW`` buckets on
either side (7 minutes: an episode's edges are sharp, and a wider window lets in background lines
from before and after it):

* ``f`` flagged and ``u`` unflagged lines of the template (all hosts) in the window;
* ``lam``: how many unflagged lines of that template the window holds in normal times
  (its unflagged lines in the model's history / the history's length in buckets x 3);
* ``f_host``: the flagged lines of the window on this host (episodes usually sit on a host).

Missed anomaly. The unflagged lines are background B ~ Poisson(lam) plus episode lines whose
flag was lost, C. With each episode line losing its flag with probability ``missed_prior``
(rho), C given the ``f`` kept flags is negative binomial: P(C = c) ~ C(f + c, c) rho^c. The
chance that a given unflagged line is a lost flag is E[C / u | u, f]; the host's share of the
window's flagged lines against its share of normal traffic scales those odds. rho is estimated
from the batch's episode spans (below) and used for the windows too: at a 3 % loss rate a cell's
lone unflagged line is far less likely lost than at 20 %.

Calibration. That posterior is too sure of itself in the middle (on the new-logs grid, lines it
gave 0.8-0.9 were lost 2 times in 3): the model's assumptions (Poisson background, one loss rate
for every episode) are only nearly true. A missed-anomaly verdict's confidence is the posterior
shifted by ``CALIBRATION_SHIFT`` on the log-odds scale (:func:`calibrated`), fitted on generator
seeds 42/7/11 and checked on seeds 1/2/3 (-0.52 and -0.53 fitted on either half since the span
backgrounds use each service's own traffic, stop 31; -0.78 and -0.85 before; expected calibration
error 0.03-0.04 on the other), and a verdict is made from ``MISSED_THRESHOLD`` (more
likely lost than not): so a finding's confidence is how often such findings were right.

Episode spans. An outage or a burst lasts 10-90 minutes, longer than that window, and its lines
spread over several templates, hosts and callers. The buckets with flagged lines anywhere join
into spans (from the first such bucket to the last: a lost flag lies between an episode's first
and last flagged lines). Per (span, service, template, host) and per (span, service, template)
on all hosts (an outage's callers are spread over a service's hosts) the same posterior is taken
with the evidence of the whole span: ``f``/``u`` there (at least ``MIN_EPISODE_FLAGS`` flagged),
``lam`` = the template's unflagged history rate x the span's length x the host's share (1 for all
hosts) x the service's traffic density in the span (its unflagged lines there against its history
rate; the platform's for a service the history lacks), and ``rho``
estimated from the spans themselves (unflagged lines in excess of their background, over all the
spans' episode lines, per template on all hosts, so a lost flag on a host without kept flags
counts too). A line gets the strongest of its window and span verdicts.

Templates without a kept flag: a lost flag of a template that kept none in its span gets no
verdict above; ``unkept_templates.py`` judges it from the episode's other templates.

Slow lines. Masking hides the durations a line reports, yet a latency episode is exactly the
template's usual lines at several times their usual durations. A line whose duration is beyond
the 95th percentile of its template's unflagged lines in the history (``durations.py``,
``sql/findings/store_duration_limits.sql``) is ``slow``; every count above is kept per
(template, slow), so the few slow lines a template has in normal times are the background of its
slow lines in an episode, and its ordinary lines do not dilute them.

Alert templates. Some templates are anomalies by nature (hardware alerts): (almost) every line
of them is flagged. :func:`alert_template_probability` weighs "alert template" against "mixed
template" from the history's counts, and for a template the history barely knows (fewer than
``NEW_TEMPLATE_LINES`` lines) from its lines since as well; an unflagged line of an alert template is a
lost flag. That verdict is template-wide (host ``*``, bucket ``-infinity``); a line gets the
stronger of its episode and template verdicts.

False anomaly (rare on purpose): a flagged line with no other flagged line anywhere in its
window, of a template seen at least ``min_history`` times in the history and never flagged
there, and not more frequent than usual. Confidence: the Laplace estimate of the template's
unflagged share.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .verdicts import shorten

__all__ = ["anomaly_verdicts", "alert_template_probability", "lost_flag_probability", "calibrated", "estimate_missed_share",
           "stored_bucket", "sql_params", "VERDICT_COLUMNS"]

VERDICT_COLUMNS = ["service", "template_key", "host", "bucket", "slow", "kind", "confidence", "reason"]
WINDOW = 3               # buckets on each side of a line's bucket
BUCKET_MINUTES = 1       # the buckets of sql/findings/anomaly_window_stats.sql and v_prediction_checks
MISSED_PRIOR = 0.1       # rho: share of an episode's lines whose flag is lost (prior)
THRESHOLD = 0.9          # an alert-template verdict needs this probability (bench/anomaly_research.py)
MISSED_THRESHOLD = 0.5   # a window or span missed-anomaly verdict needs this calibrated probability
CALIBRATION_SHIFT = -0.53  # log-odds shift of the lost-flag posterior (bench/anomaly_research.py --calibration)
MIN_HISTORY = 200        # a false-anomaly verdict needs this many history lines of the template
MAX_LOST = 200           # C is summed up to this many lines per window
ALERT_LOSS_B = 9.0       # alert templates lose a flag with r ~ Beta(1, 9) (mean 10 %)
MIXED_MAX = 0.95         # mixed templates flag at most 95 % of their lines
MIN_ALERT_LINES = 5      # an alert-template verdict needs this many flagged lines
NEW_TEMPLATE_LINES = 20  # a template with fewer history lines is judged with its recent lines too
RHO_RANGE = (0.001, 0.5)  # the span estimate of rho is kept within this range (a clean batch: near 0)
MIN_EPISODE_FLAGS = 2    # a span verdict needs this many flagged lines of the group (one line is no episode)
GROUP_KEYS = ["service", "template_key", "host", "bucket", "slow"]  # one row of the window stats (and a level)


def sql_params(model_version: str) -> dict:
    """The parameters of the findings SQL that counts lines per episode bucket."""
    return {"model_version": model_version, "bucket_minutes": BUCKET_MINUTES, "window": WINDOW}


def calibrated(p: np.ndarray, shift: float | None = None) -> np.ndarray:
    """The lost-flag posterior on the calibrated scale: logit(p') = logit(p) + shift
    (``CALIBRATION_SHIFT`` unless given)."""
    shift = CALIBRATION_SHIFT if shift is None else shift
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    return 1.0 / (1.0 + np.exp(-(np.log(q) - np.log1p(-q) + shift)))


def lost_flag_probability(u: np.ndarray, f: np.ndarray, lam: np.ndarray, rho: float = MISSED_PRIOR,
                          host_ratio: np.ndarray | None = None, max_lost: int = MAX_LOST) -> np.ndarray:
    """P(an unflagged line of the window is an episode line that lost its flag), per window.

    ``u``/``f``: unflagged / flagged lines of the window; ``lam``: expected unflagged
    background lines; ``host_ratio``: likelihood ratio of the line's host (1 = no evidence).
    """
    from scipy.special import gammaln

    u = np.asarray(u, dtype=np.float64)
    f = np.asarray(f, dtype=np.float64)
    lam = np.maximum(np.asarray(lam, dtype=np.float64), 1e-4)
    out = np.zeros(len(u))
    if len(u) == 0:
        return out
    cmax = int(min(max_lost, max(1.0, u.max())))
    c = np.arange(cmax + 1, dtype=np.float64)[None, :]
    U, F, L = u[:, None], f[:, None], lam[:, None]
    log_c = gammaln(F + c + 1) - gammaln(c + 1) - gammaln(F + 1) + c * np.log(rho) + (F + 1) * np.log1p(-rho)
    b = U - c
    log_b = np.where(b >= 0, b * np.log(L) - L - gammaln(np.maximum(b, 0) + 1), -np.inf)
    joint = np.where(c <= U, log_c + log_b, -np.inf)
    joint -= joint.max(1, keepdims=True)
    w = np.exp(joint)
    w /= w.sum(1, keepdims=True)
    p = (w * c).sum(1) / np.maximum(u, 1)
    if host_ratio is not None:
        odds = p / np.maximum(1 - p, 1e-12) * np.asarray(host_ratio, dtype=np.float64)
        p = odds / (1 + odds)
    return np.where(u > 0, p, 0.0)


ALL_HOSTS = "*"
ALL_TIME = pd.Timestamp("1970-01-01", tz="UTC")  # stored as '-infinity' (see stored_bucket)


def alert_template_probability(flagged: np.ndarray, unflagged: np.ndarray, iterations: int = 30) -> np.ndarray:
    """P(template is an alert template | its history's flagged / unflagged lines), per template.

    Two kinds of template carry flags: alert templates (every line an anomaly; a flag is lost
    with probability r ~ Beta(1, ALERT_LOSS_B)) and mixed ones (a share q ~ Uniform(0, MIXED_MAX)
    of lines flagged: episodes, partly anomalous messages). The share of alert templates among
    the flagged ones is estimated from the source itself (EM), within [0.05, 0.95].
    """
    from scipy.special import betainc, betaln

    a = np.asarray(flagged, dtype=np.float64)
    b = np.asarray(unflagged, dtype=np.float64)
    out = np.zeros(len(a))
    has = a > 0
    if not has.any():
        return out
    a, b = a[has], b[has]
    log_alert = betaln(b + 1, a + ALERT_LOSS_B) - betaln(1, ALERT_LOSS_B)
    # q ~ Uniform(0, MIXED_MAX): the incomplete beta integral up to MIXED_MAX
    log_mixed = betaln(a + 1, b + 1) + np.log(np.maximum(betainc(a + 1, b + 1, MIXED_MAX), 1e-300)) - np.log(MIXED_MAX)
    w = 0.5
    for _ in range(iterations):
        odds = np.exp(np.clip(log_alert - log_mixed, -700, 700)) * w / (1 - w)
        post = odds / (1 + odds)
        w = float(np.clip(post.mean(), 0.05, 0.95))
    out[has] = post
    return out


def _alert_template_verdicts(baseline: pd.DataFrame, threshold: float, recent: pd.DataFrame | None = None) -> list[tuple]:
    """Template-wide missed-anomaly verdicts: an unflagged line of an alert template lost its flag.

    ``recent``: the same counts among the logs scored since the history (a template new since
    the history can be an alert template too)."""
    tpl = ["service", "template_key"]
    # the history the model was trained on: what the source's alert templates look like (slow lines or not)
    history = baseline.groupby(tpl, as_index=False, sort=False)[["flagged", "unflagged"]].sum()
    judged = [(history, "earlier lines")]
    if recent is not None and len(recent):
        # a template the history barely knows is judged on its recent lines too (as a second
        # opinion: the recent lines of a known template would count this batch's lost flags
        # against it)
        known = history.set_index(tpl).sum(axis=1)
        seen = known.reindex(pd.MultiIndex.from_frame(recent[tpl])).fillna(0).to_numpy()
        young = recent.loc[seen < NEW_TEMPLATE_LINES, [*tpl, "flagged", "unflagged"]]
        with_recent = pd.concat([history, young]).groupby(tpl, as_index=False, sort=False)[["flagged", "unflagged"]].sum()
        judged.append((with_recent[with_recent.set_index(tpl).index.isin(pd.MultiIndex.from_frame(young[tpl]))],
                       "lines so far"))
    rows: list[tuple] = []
    for counts, what in judged:
        if counts.empty:
            continue
        flagged = counts["flagged"].to_numpy(dtype=np.float64)
        unflagged = counts["unflagged"].to_numpy(dtype=np.float64)
        p = alert_template_probability(flagged, unflagged)
        keep = (p >= threshold) & (flagged >= MIN_ALERT_LINES)
        rows += [(r.service, r.template_key, ALL_HOSTS, ALL_TIME, False, "missed_anomaly", float(conf),
                  f"{int(fl)} of {int(fl + un)} {what} of \"{shorten(r.template_key)}\" ({r.service or '-'}) "
                  f"were flagged anomalous: an alert template, so an unflagged line of it looks like a lost flag")
                 for r, conf, fl, un in zip(counts[keep].itertuples(index=False), p[keep], flagged[keep], unflagged[keep])]
    return rows


def stored_bucket(bucket: pd.Timestamp) -> str:
    """The bucket as written to anomaly_verdicts: template-wide verdicts use '-infinity'."""
    return "-infinity" if bucket == ALL_TIME else bucket.isoformat()


def _window_sum(df: pd.DataFrame, keys: list[str], cols: list[str]) -> np.ndarray:
    """Each row's sums of `cols` over its bucket and its WINDOW neighbours, per `keys` (one row of
    the result per row of `df`). On integers: a (keys, bucket) number per row, its sums, then each
    shifted number looked up in the sorted ones (concatenating 2 x WINDOW + 1 shifted copies of the
    grouped frame took 100 MB at 5M logs)."""
    key = df.groupby(keys, sort=False, dropna=False).ngroup().to_numpy(np.int64)
    bucket = _bucket_numbers(df)
    offset = bucket - bucket.min()
    # room for WINDOW buckets on either side, so a shifted number never reaches the next key's
    width = int(offset.max()) + 2 * WINDOW + 1
    cell, row_cell = np.unique(key * width + offset, return_inverse=True)
    row_cell = row_cell.reshape(-1)
    sums = np.stack([np.bincount(row_cell, weights=df[c].to_numpy(np.float64), minlength=len(cell)) for c in cols], 1)
    total = np.zeros_like(sums)
    for d in range(-WINDOW, WINDOW + 1):
        at = np.minimum(np.searchsorted(cell, cell + d), len(cell) - 1)
        found = cell[at] == cell + d
        total[found] += sums[at[found]]
    return np.rint(total[row_cell]).astype(np.int64)


def estimate_missed_share(u: np.ndarray, f: np.ndarray, lam: np.ndarray) -> float:
    """rho from the spans: unflagged lines beyond their expected background, over all episode
    lines (smoothed towards MISSED_PRIOR, kept within RHO_RANGE)."""
    excess = float(np.sum(u) - np.sum(lam))
    rho = (excess + 10 * MISSED_PRIOR) / (float(np.sum(f)) + excess + 10)
    return float(np.clip(rho, *RHO_RANGE))


def _bucket_numbers(frame: pd.DataFrame) -> np.ndarray:
    """Buckets as integers (the datetime unit of the frame varies with its source)."""
    return ((pd.DatetimeIndex(frame["bucket"]) - ALL_TIME) // pd.Timedelta(minutes=BUCKET_MINUTES)).to_numpy(np.int64)


def _in_spans(frame: pd.DataFrame, lo: np.ndarray, hi: np.ndarray) -> pd.DataFrame:
    """The rows of ``frame`` inside a span, with its ``span_id``."""
    b = _bucket_numbers(frame)
    j = np.searchsorted(lo, b, side="right") - 1
    inside = (j >= 0) & (b <= hi[np.clip(j, 0, None)])
    return frame[inside].assign(span_id=j[inside])


def _span_verdicts(g: pd.DataFrame, span: float, history_rate: float, threshold: float,
                   levels: pd.DataFrame | None = None, service_flags: pd.Series | None = None,
                   recent_counts: pd.DataFrame | None = None, service_rates: pd.Series | None = None
                   ) -> tuple[list[tuple], float | None]:
    """Missed-anomaly verdicts from whole episode spans (see the module docstring), and the
    share of episode lines that lost their flag estimated from them (None without spans).

    ``g``: the groups with their history columns (hist_unflagged) and host ``share`` joined;
    ``levels``: the same rows split by level, ``service_flags``: each service's flagged history
    lines, ``recent_counts``: the lines per template since the history (the verdicts on templates
    without kept flags); ``service_rates``: each service's unflagged history lines per bucket (the
    span's traffic density per service; the platform's without them)."""
    b = _bucket_numbers(g)
    hot = np.unique(b[g["flagged"].to_numpy() > 0])
    if len(hot) == 0 or history_rate <= 0:
        return [], None
    # a span: hot buckets at most 2 * WINDOW + 1 buckets apart, from the first to the last (a lost
    # flag lies between an episode's first and last flagged lines)
    new_span = np.concatenate([[True], np.diff(hot) > 2 * WINDOW + 1])
    lo = hot[new_span]
    hi = np.append(hot[np.flatnonzero(new_span)[1:] - 1], hot[-1])
    s = _in_spans(g, lo, hi)
    length = (hi - lo + 1).astype(np.float64)  # buckets per span
    unflagged = s.groupby("span_id")["unflagged"].sum()
    traffic = unflagged / (history_rate * length[unflagged.index])
    density = traffic.clip(0.25, 4.0)
    if service_rates is not None:
        # each service's own traffic in the span against its history rate (a quiet service's busy
        # hour is not the platform's); the platform's where the history has none of the service
        lines = s.groupby(["span_id", "service"], sort=False)["unflagged"].sum()
        ids = lines.index.get_level_values("span_id").to_numpy()
        rate = service_rates.reindex(lines.index.get_level_values("service")).fillna(0.0).to_numpy()
        own = np.where(rate > 0, lines.to_numpy() / np.maximum(rate * length[ids], 1e-12),
                       density.reindex(ids).fillna(1.0).to_numpy())
        density = pd.Series(np.clip(own, 0.25, 4.0), index=lines.index)
    by_host = ["span_id", "service", "template_key", "slow", "host"]

    def expected(per: pd.DataFrame, scale: pd.Series) -> pd.Series:
        """A frame's expected lines over its span from its hist_unflagged history lines: rate x the
        span's length x the host's share x ``scale`` (a density per span, or per span and service)."""
        ids = per["span_id"].to_numpy()
        where = pd.MultiIndex.from_frame(per[scale.index.names]) if scale.index.nlevels > 1 else ids
        return per["hist_unflagged"] / span * length[ids] * per["share"] * scale.reindex(where).fillna(1.0).to_numpy()

    def cells(keys: list[str], frame: pd.DataFrame) -> pd.DataFrame:
        per = frame.groupby(keys, sort=False).agg(f=("flagged", "sum"), u=("unflagged", "sum"),
                                                  hist_unflagged=("hist_unflagged", "first"), share=("share", "first"))
        per = per.reset_index()
        per["lam"] = expected(per, density)
        return per

    # each host's part of the span (an episode often sits on one host), and all hosts together
    # (an outage's callers spread over every host of a service)
    judged = [(by_host, cells(by_host, s)), (by_host[:-1], cells(by_host[:-1], s.assign(share=1.0)))]
    # rho from the spans of the logs since the history where there are any (the history's own flags
    # would dilute the share), per template on all hosts (a lost flag on a host without kept flags
    # counts too)
    per = judged[1][1]
    if "recent" in s:
        lines = s.groupby("span_id")[["flagged", "unflagged", "recent"]].sum()
        recent = lines.index[lines["recent"] == lines["flagged"] + lines["unflagged"]]
        if per["span_id"].isin(recent).any():
            per = per[per["span_id"].isin(recent)]
    with_flags = per["f"] > 0
    rho = estimate_missed_share(per.loc[with_flags, "u"].to_numpy(), per.loc[with_flags, "f"].to_numpy(),
                                per.loc[with_flags, "lam"].to_numpy())
    rows: list[tuple] = []
    if levels is not None and service_flags is not None:
        # the platform's density, not capped: real sources log in bursts of 100x their average rate
        background = lambda per: expected(per, traffic.clip(lower=0.25))  # noqa: E731
        from .unkept_templates import unkept_template_verdicts  # (it imports this module)

        rows += unkept_template_verdicts(_in_spans(levels, lo, hi), background, length, rho, threshold,
                                         service_flags, recent_counts)
    for keys, per in judged:
        cand = per[(per["f"] >= MIN_EPISODE_FLAGS) & (per["u"] > 0)]
        if cand.empty:
            continue
        p = calibrated(lost_flag_probability(cand["u"].to_numpy(), cand["f"].to_numpy(), cand["lam"].to_numpy(), rho))
        strong = cand[p >= threshold].assign(p=p[p >= threshold])
        if strong.empty:
            continue
        # one verdict row per host and bucket of the span where the group has unflagged lines
        strong = strong.rename(columns={"f": "span_f", "u": "span_u", "lam": "span_lam"})
        lines = s[s["unflagged"] > 0][[*by_host, "bucket"]].merge(
            strong[[*keys, "p", "span_f", "span_u", "span_lam"]], on=keys)
        minutes = (length[lines["span_id"].to_numpy()] * BUCKET_MINUTES).astype(int)
        where = (lambda r: f"on {r.host or 'an unnamed host'}") if "host" in keys else (lambda r: "on all its hosts")
        rows += [(r.service, r.template_key, r.host, r.bucket, r.slow, "missed_anomaly", float(r.p),
                  f"{int(r.span_f)} of {int(r.span_f + r.span_u)} {_lines(r.slow)} of \"{shorten(r.template_key)}\" "
                  f"({r.service or '-'}) {where(r)} during a {m}-minute episode are flagged anomalous, where "
                  f"{r.span_lam:.2f} unflagged lines are normal: this line looks like part of that episode")
                 for r, m in zip(lines.itertuples(index=False), minutes)]
    return rows, rho


def _lines(slow: bool) -> str:
    return "slow lines (longer than 95 % of the template's earlier ones)" if slow else "lines"


def _strongest(rows: list[tuple]) -> pd.DataFrame:
    """One verdict per (service, template, host, bucket, slow, kind): the most confident."""
    df = pd.DataFrame(rows, columns=VERDICT_COLUMNS)
    if df.empty:
        return df
    df = df.sort_values("confidence", ascending=False, kind="stable")
    return df.drop_duplicates(["service", "template_key", "host", "bucket", "slow", "kind"]).reset_index(drop=True)


def anomaly_verdicts(groups: pd.DataFrame, baseline: pd.DataFrame, host_shares: pd.DataFrame, *,
                     recent: pd.DataFrame | None = None, rho: float = MISSED_PRIOR, threshold: float = THRESHOLD,
                     missed_threshold: float = MISSED_THRESHOLD, min_history: int = MIN_HISTORY) -> pd.DataFrame:
    """Verdicts per (service, template_key, host, bucket).

    ``groups``: service, template_key, host, bucket, flagged, unflagged (the scored logs) and
    optionally recent (how many of those lines were logged since the history) and level (rows
    split by the lines' level: the verdicts on templates without kept flags need it);
    ``baseline``: service, template_key, flagged, unflagged, span_buckets (the history);
    ``host_shares``: service, host, share (the history);
    ``recent``: service, template_key, flagged, unflagged (the logs scored since the history);
    ``rho``: the share of episode lines that lost their flag where the batch has no episode span
    to estimate it from; ``threshold``: the alert-template verdicts' cut; ``missed_threshold``: the
    window and span verdicts' cut (on the calibrated scale).
    """
    rows = _alert_template_verdicts(baseline, threshold, recent)
    if groups.empty:
        return _strongest(rows)
    g = groups.copy()
    g["bucket"] = pd.to_datetime(g["bucket"], utc=True)
    if "slow" not in g:
        g["slow"] = False
    levels = None
    if "level" in g:  # rows split by level: every verdict but one reads the groups without it
        levels = g.assign(level=g["level"].fillna(""))
        counts = [c for c in ("flagged", "unflagged", "recent") if c in g]
        g = levels.groupby(GROUP_KEYS, as_index=False, sort=False)[counts].sum()
    if "slow" not in baseline:
        baseline = baseline.assign(slow=False)
    # slow lines of a template are counted apart from its ordinary ones: a sub-template of their own
    tpl = ["service", "template_key", "slow"]
    g["f"], g["u"] = _window_sum(g, tpl, ["flagged", "unflagged"]).T
    g["f_host"] = _window_sum(g, [*tpl, "host"], ["flagged"])[:, 0]
    span = float(baseline["span_buckets"].iloc[0]) if len(baseline) else 1.0
    base = baseline.set_index(tpl)[["flagged", "unflagged"]].rename(
        columns={"flagged": "hist_flagged", "unflagged": "hist_unflagged"})
    g = g.join(base, on=tpl)
    g[["hist_flagged", "hist_unflagged"]] = g[["hist_flagged", "hist_unflagged"]].fillna(0)
    width = 2 * WINDOW + 1
    g["lam"] = g["hist_unflagged"] / span * width
    shares = host_shares.set_index(["service", "host"])["share"]
    share = shares.reindex(pd.MultiIndex.from_frame(g[["service", "host"]])).to_numpy(dtype=np.float64)
    known_host = (g["host"] != "").to_numpy() & np.isfinite(share)
    share = np.where(known_host, np.clip(np.nan_to_num(share, nan=1.0), 1e-3, 1.0), 1.0)
    # the host's (smoothed) share of the window's flagged lines against its share of normal traffic
    ratio = np.where(known_host, (g["f_host"].to_numpy() + share) / (g["f"].to_numpy() + 1) / share, 1.0)

    g["share"] = share  # 1.0 where the host is unknown
    history_rate = float(baseline["unflagged"].sum()) / span if len(baseline) else 0.0
    if levels is not None:
        levels = levels.merge(g[[*GROUP_KEYS, "hist_unflagged", "share"]], on=GROUP_KEYS)
    service_flags = baseline.groupby("service")["flagged"].sum()
    service_rates = baseline.groupby("service")["unflagged"].sum() / span
    span_rows, span_rho = _span_verdicts(g, span, history_rate, missed_threshold, levels, service_flags, recent,
                                         service_rates)
    rows += span_rows
    rho = rho if span_rho is None else span_rho

    missed = (g["unflagged"] > 0) & (g["f"] > 0)
    if missed.any():
        m = g[missed]
        p = calibrated(lost_flag_probability(m["u"].to_numpy(), m["f"].to_numpy(), m["lam"].to_numpy(), rho,
                                             ratio[missed.to_numpy()]))
        keep = p >= missed_threshold
        for r, conf in zip(m[keep].itertuples(index=False), p[keep]):
            rows.append((r.service, r.template_key, r.host, r.bucket, r.slow, "missed_anomaly", float(conf),
                         f"{int(r.f)} of {int(r.f + r.u)} {_lines(r.slow)} of \"{shorten(r.template_key)}\" ({r.service or '-'}) "
                         f"within {BUCKET_MINUTES * WINDOW} minutes are flagged anomalous, where "
                         f"{r.lam:.2f} unflagged lines are normal: this line looks like part of that episode"))

    # false anomalies: a flagged line alone in its window, everywhere, of a template never flagged
    all_flagged = g.groupby("bucket")["flagged"].sum()
    around = sum(all_flagged.rename(index=lambda b, d=d: b + d * pd.Timedelta(minutes=BUCKET_MINUTES))
                 .reindex(g["bucket"]).fillna(0).to_numpy() for d in range(-WINDOW, WINDOW + 1))
    hist_n = (g["hist_flagged"] + g["hist_unflagged"]).to_numpy()
    lam_all = hist_n / span * width
    from scipy.stats import poisson

    usual = poisson.sf(g["f"].to_numpy() + g["u"].to_numpy() - 1, np.maximum(lam_all, 1e-9)) >= 0.05
    lone = ((g["flagged"].to_numpy() > 0) & (around == g["flagged"].to_numpy()) & (g["hist_flagged"].to_numpy() == 0)
            & (hist_n >= min_history) & usual)
    for r, n in zip(g[lone].itertuples(index=False), hist_n[lone]):
        conf = (n + 1) / (n + 2)
        rows.append((r.service, r.template_key, r.host, r.bucket, r.slow, "false_anomaly", float(conf),
                     f"the only flagged line within {BUCKET_MINUTES * WINDOW} minutes anywhere, and none of the "
                     f"{int(n)} earlier {_lines(r.slow)} of \"{shorten(r.template_key)}\" ({r.service or '-'}) was flagged"))
    return _strongest(rows)

