"""Missed-anomaly verdicts on templates that kept no flag in their episode span.

An episode spreads its lines over many templates of a service,
several of them with a single line in the episode (an error burst's rarer errors, a retry chain
against an upstream the history never saw down); such a line whose flag was lost leaves no kept
flag of its template in the span, so neither a window nor a span verdict
(``episodes.py``) exists for it. Per (span, service,
host) with at least ``UNSEEN_MIN_FLAGS`` kept flags beyond the service's usual flags there (its
flagged history lines' rate over the span: a source that flags its alert lines all the time has
spans of flags but no episode): the templates with exactly one kept flag there (``n1``) tell how
many single-line templates the episode has, so rho / (1 - rho) x n1 x (the flags' excess share)
lines are expected on templates that lost their only flag; they are shared out by level like the kept
flags (an error burst loses ERROR lines, not the service's INFO traffic; ``LEVEL_PSEUDO`` per level
smooths the shares) and evenly over that level's candidate templates (unflagged lines on the host,
no kept flag in the span anywhere). A candidate line is a lost flag with probability m / (m + lam),
``lam`` its template's background on the host over the span (as for the span verdicts, but with the span's traffic
density not capped: real sources log in bursts of a hundred times their average rate, and a
template that is common in such a burst is no evidence), and at least the template's share of the
service's unflagged lines since the history outside the span times the cell's unflagged lines (a
template new since the history but common in the new logs is new traffic, not an episode): a
template rarely or never logged outside the episode is the strong case.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .episodes import BUCKET_MINUTES, _lines, calibrated
from .verdicts import shorten
from .vocab import LEVELS

__all__ = ["unkept_template_verdicts", "UNSEEN_MIN_FLAGS", "LEVEL_PSEUDO"]

UNSEEN_MIN_FLAGS = 10    # a verdict needs this many flagged lines of the template's service on its host (beyond its usual ones)
LEVEL_PSEUDO = 0.1       # pseudo-count per level when the span's lost lines are shared out by the kept flags' levels


def unkept_template_verdicts(s: pd.DataFrame, background, length: np.ndarray, rho: float,
                             threshold: float, service_flags: pd.Series, recent: pd.DataFrame | None = None
                             ) -> list[tuple]:
    """Missed-anomaly verdicts on templates with no kept flag in the span (see the module
    docstring). ``s``: the rows inside spans split by level, with span_id, hist_unflagged and
    share; ``background``: a frame's expected lines over its span from its ``hist_unflagged``
    history lines; ``service_flags``: each service's flagged lines in the history; ``recent``: the
    lines per template since the history (a candidate's background is at least its share of them)."""
    cell = ["span_id", "service", "host"]
    tpl = ["template_key", "slow"]
    # only the spans and services with a cell of enough flags (most have none: the frames stay small)
    big = s.groupby(cell, sort=False)["flagged"].sum()
    big = big[big >= UNSEEN_MIN_FLAGS].reset_index()[["span_id", "service"]].drop_duplicates()
    if big.empty:
        return []
    s = s.merge(big, on=["span_id", "service"])
    kept_anywhere = s.groupby(["span_id", "service", *tpl], sort=False)["flagged"].sum().rename("f_span")
    per = s.groupby([*cell, *tpl], sort=False).agg(
        f=("flagged", "sum"), u=("unflagged", "sum"), hist_unflagged=("hist_unflagged", "first"),
        share=("share", "first")).join(kept_anywhere, on=["span_id", "service", *tpl]).reset_index()
    flags = per.assign(one=per["f"] == 1).groupby(cell, sort=False).agg(
        F=("f", "sum"), n1=("one", "sum"), share=("share", "first")).reset_index()
    flags = flags[flags["F"] > 0]
    # only the flags beyond the service's usual ones make an episode (a source that flags its alert
    # lines all the time has spans of flags without one)
    usual = background(flags.assign(hist_unflagged=flags["service"].map(service_flags).fillna(0.0))).to_numpy()
    flags["excess"] = np.clip(1.0 - usual / flags["F"].to_numpy(), 0.0, 1.0)
    flags = flags[flags["F"] * flags["excess"] >= UNSEEN_MIN_FLAGS].set_index(cell)[["F", "n1", "excess"]]
    cand = per[(per["f_span"] == 0) & (per["u"] > 0)].join(flags, on=cell, how="inner")
    if cand.empty:
        return []
    # a candidate's level: that of most of its unflagged lines on the host in the span
    level = (s[s["unflagged"] > 0].groupby([*cell, *tpl, "level"], sort=False)["unflagged"].sum().reset_index()
             .sort_values("unflagged", ascending=False, kind="stable").drop_duplicates([*cell, *tpl]))
    cand = cand.merge(level[[*cell, *tpl, "level"]], on=[*cell, *tpl])
    f_level = s.groupby([*cell, "level"], sort=False)["flagged"].sum().rename("f_level")
    cand = cand.join(f_level, on=[*cell, "level"]).join(
        cand.groupby([*cell, "level"], sort=False).size().rename("candidates"), on=[*cell, "level"])
    f_level = cand["f_level"].fillna(0).to_numpy()
    # lost lines expected on templates that kept no flag, this level's part of them, per candidate template
    m = (rho / (1 - rho) * cand["n1"].to_numpy() * cand["excess"].to_numpy() * (f_level + LEVEL_PSEUDO)
         / (cand["F"].to_numpy() + LEVEL_PSEUDO * len(LEVELS)) / cand["candidates"].to_numpy())
    lam = background(cand).to_numpy(np.float64)
    if recent is not None and len(recent):
        # the template's share of the service's unflagged lines since the history, outside this span,
        # times the cell's unflagged lines: a template new since the history but common in the new
        # logs is no evidence (its history background is 0)
        in_span = s.groupby(["span_id", "service", "template_key"], sort=False)["unflagged"].sum()
        since = recent.groupby(["service", "template_key"], sort=False)["unflagged"].sum()
        per_service = since.groupby(level="service").sum()
        keys = pd.MultiIndex.from_frame(cand[["span_id", "service", "template_key"]])
        outside = (since.reindex(pd.MultiIndex.from_frame(cand[["service", "template_key"]])).fillna(0).to_numpy()
                   - in_span.reindex(keys).fillna(0).to_numpy())
        traffic = s.groupby(cell, sort=False)["unflagged"].sum().reindex(
            pd.MultiIndex.from_frame(cand[cell])).to_numpy(np.float64)
        total = cand["service"].map(per_service).fillna(0).to_numpy(np.float64)
        lam = np.maximum(lam, np.clip(outside, 0, None) / np.maximum(total, 1.0) * traffic)
    lam = np.maximum(lam, 1e-4)
    p = calibrated(m / np.maximum(m + lam, 1e-12))
    keep = (p >= threshold) & (m > 0)
    strong = cand[keep].assign(p=p[keep], lam=lam[keep], f_level=f_level[keep])
    if strong.empty:
        return []
    lines = s[s["unflagged"] > 0][[*cell, *tpl, "bucket"]].drop_duplicates().merge(
        strong[[*cell, *tpl, "p", "F", "f_level", "level", "lam"]], on=[*cell, *tpl])
    minutes = (length[lines["span_id"].to_numpy()] * BUCKET_MINUTES).astype(int)
    return [(r.service, r.template_key, r.host, r.bucket, r.slow, "missed_anomaly", float(r.p),
             f"{int(r.F)} lines of {r.service or '-'} on {r.host or 'an unnamed host'} during a {mins}-minute episode "
             f"are flagged anomalous ({int(r.f_level)} of them {r.level or 'without a level'}), none of "
             f"\"{shorten(r.template_key)}\", of which {r.lam:.3f} unflagged {_lines(r.slow)} are normal there: "
             f"this line looks like one of the episode's whose flag was lost")
            for r, mins in zip(lines.itertuples(index=False), minutes)]
