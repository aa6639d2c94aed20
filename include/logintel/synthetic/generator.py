"""Streaming, vectorised synthetic log generator (see package docstring)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterator

import numpy as np

from .catalog import LEVEL_TARGETS, LEVELS, SERVICES, TEMPLATES
from .slots import BACKREFS, SLOTS, SlotContext, hosts_for

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BIN_MS = 60_000  # traffic-density resolution (1 minute)
BLOCK = 50_000  # approximate number of lines formatted per block
EPISODE_KINDS = ("error_burst", "service_down", "rare_message", "latency_spike")
_KIND_P = np.array([0.35, 0.25, 0.18, 0.22])
_GAP_MS = 10 * 60_000  # minimum quiet time between two episodes

# ----------------------------------------------------------------- compiled tables
K = len(TEMPLATES)
TPL_IDS = np.array([t.id for t in TEMPLATES], dtype=object)
TPL_LEVEL = np.array([t.level for t in TEMPLATES], dtype=object)
TPL_SVC = np.array([SERVICES.index(t.service) for t in TEMPLATES], dtype=np.int64)
TPL_SVC_NAME = np.array([t.service for t in TEMPLATES], dtype=object)
TPL_ROLE = [t.role for t in TEMPLATES]
TPL_TARGETS = [np.array([SERVICES.index(s) for s in t.targets], dtype=np.int64) for t in TEMPLATES]
_HOSTS = [hosts_for(i) for i in range(len(SERVICES))]


def _normal_probs() -> np.ndarray:
    w = np.array([t.weight for t in TEMPLATES], dtype=float)
    p = np.zeros(K)
    for lvl in LEVELS:
        m = (TPL_LEVEL == lvl) & (w > 0)
        p[m] = w[m] / w[m].sum() * LEVEL_TARGETS[lvl]
    return p / p.sum()


P_NORMAL = _normal_probs()
CDF_NORMAL = np.cumsum(P_NORMAL)
CDF_NORMAL[-1] = 1.0
P_SERVICE = np.bincount(TPL_SVC, weights=P_NORMAL, minlength=len(SERVICES))
P_ERROR_ALL = float(P_NORMAL[(TPL_LEVEL == "ERROR") | (TPL_LEVEL == "FATAL")].sum())


def _cdf_without(svc: int) -> np.ndarray:
    p = np.where(TPL_SVC == svc, 0.0, P_NORMAL)
    c = np.cumsum(p / p.sum())
    c[-1] = 1.0
    return c


CDF_WITHOUT = [_cdf_without(s) for s in range(len(SERVICES))]


def _idx(pred) -> np.ndarray:
    return np.array([i for i, t in enumerate(TEMPLATES) if pred(t)], dtype=np.int64)


RARE_IDX = _idx(lambda t: t.role == "rare")
STARTED_IDX = {SERVICES.index(t.service): i for i, t in enumerate(TEMPLATES) if t.role == "started"}
DOWNABLE = sorted({s for i in _idx(lambda t: t.role == "down") for s in TPL_TARGETS[i].tolist()})
SLOW_SERVICES = sorted({SERVICES.index(t.service) for t in TEMPLATES if t.role == "slow"})


# ------------------------------------------------------------------------ episodes
@dataclass
class Episode:
    kind: str
    service: int
    t0: int  # relative ms, inclusive
    t1: int  # relative ms, exclusive
    t: np.ndarray  # injected line times (relative ms)
    k: np.ndarray  # injected template indices
    target: np.ndarray  # target service (-1 = random)
    host: np.ndarray  # forced host index within the emitting service (-1 = random)
    scale: np.ndarray  # duration multiplier


def _pick(rng: np.random.Generator, idx: np.ndarray, n: int, weights=None) -> np.ndarray:
    if len(idx) == 0 or n == 0:
        return np.empty(0, dtype=np.int64)
    if weights is None:
        return idx[rng.integers(0, len(idx), n)]
    w = np.asarray(weights, float)
    return idx[rng.choice(len(idx), size=n, p=w / w.sum())]


class _Plan:
    """Everything decided up-front: per-minute traffic density and the episodes."""

    def __init__(self, n_logs: int, days: float, seed: int, start: datetime):
        self.n_logs = n_logs
        us = (start - _EPOCH) // timedelta(microseconds=1)
        self.start_ms = -(-us // 1000)  # ceil: never before `start`
        self.total_ms = max(1, int(days * 86_400_000))  # floor: never after start + days
        rng = np.random.default_rng([seed, 0])
        n_bins = math.ceil(self.total_ms / BIN_MS)
        self.bin_start = np.arange(n_bins, dtype=np.int64) * BIN_MS
        self.bin_width = np.minimum(BIN_MS, self.total_ms - self.bin_start)
        # daily cycle peaking ~14:00 UTC, lower at night and at weekends, plus noise
        mid = self.start_ms + self.bin_start + self.bin_width // 2
        hour = (mid % 86_400_000) / 3_600_000.0
        weekday = ((mid // 86_400_000) + 3) % 7  # 1970-01-01 was a Thursday (3)
        dens = 1.0 + 0.65 * np.sin(2 * np.pi * (hour - 8.0) / 24.0)
        dens *= np.where(weekday >= 5, 0.7, 1.0)
        dens *= rng.gamma(25.0, 1 / 25.0, n_bins)
        w = dens * self.bin_width
        self.bin_p = w / w.sum()
        self.cum = np.concatenate([[0.0], np.cumsum(self.bin_p)])
        self.edges = np.concatenate([self.bin_start, [self.total_ms]])

        self.episodes = self._plan_episodes(rng, days)
        n_inj = sum(len(e.t) for e in self.episodes)
        while self.episodes and n_inj > 0.1 * n_logs:  # tiny datasets: keep anomalies a minority
            n_inj -= len(self.episodes.pop().t)
        self.episodes.sort(key=lambda e: e.t0)
        self.n_normal = n_logs - n_inj
        self.counts = rng.multinomial(self.n_normal, self.bin_p) if self.n_normal > 0 else np.zeros(n_bins, np.int64)
        if self.episodes:
            self.ep_t = np.concatenate([e.t for e in self.episodes])
            order = np.argsort(self.ep_t, kind="stable")
            self.ep_t = self.ep_t[order]
            self.ep_k = np.concatenate([e.k for e in self.episodes])[order]
            self.ep_target = np.concatenate([e.target for e in self.episodes])[order]
            self.ep_host = np.concatenate([e.host for e in self.episodes])[order]
            self.ep_scale = np.concatenate([e.scale for e in self.episodes])[order]
            self.ep_kind = np.concatenate([np.full(len(e.t), EPISODE_KINDS.index(e.kind)) for e in self.episodes])[order]
        else:
            self.ep_t = self.ep_k = self.ep_target = self.ep_host = self.ep_kind = np.empty(0, np.int64)
            self.ep_scale = np.empty(0)
        self.downs = [(e.service, e.t0, e.t1) for e in self.episodes if e.kind == "service_down"]

    def expected(self, t0: int, t1: int) -> float:
        """Expected number of normal lines in [t0, t1)."""
        f = np.interp([t0, t1], self.edges, self.cum)
        return float(self.n_logs * (f[1] - f[0]))

    # ---------------------------------------------------------------- planning
    def _plan_episodes(self, rng: np.random.Generator, days: float) -> list[Episode]:
        n_ep = int(round(days * rng.uniform(2.0, 2.8)))
        kinds = list(rng.choice(len(EPISODE_KINDS), size=n_ep, p=_KIND_P))
        if n_ep >= len(EPISODE_KINDS):  # make sure every kind shows up
            kinds[: len(EPISODE_KINDS)] = range(len(EPISODE_KINDS))
            rng.shuffle(kinds)
        rare_order = list(rng.permutation(RARE_IDX))
        busy: list[tuple[int, int]] = []
        out: list[Episode] = []
        for kind_i in kinds:
            kind = EPISODE_KINDS[kind_i]
            dur_min = {"error_burst": (5, 20), "service_down": (10, 60),
                       "rare_message": (2, 15), "latency_spike": (20, 90)}[kind]
            dur = int(rng.uniform(*dur_min) * 60_000)
            if dur + 2 * _GAP_MS >= self.total_ms:
                continue
            for _ in range(60):
                t0 = int(rng.integers(_GAP_MS, self.total_ms - dur - _GAP_MS))
                if all(t0 + dur + _GAP_MS <= b0 or t0 >= b1 + _GAP_MS for b0, b1 in busy):
                    break
            else:
                continue
            busy.append((t0, t0 + dur))
            ep = getattr(self, "_" + kind)(rng, t0, t0 + dur, rare_order)
            if ep is not None:
                out.append(ep)
        return out

    def _lines(self, rng, t0, t1, k, target=-1, host=-1, scale=1.0, service=0, kind="") -> Episode:
        n = len(k)
        t = np.sort(rng.integers(t0, t1, n)).astype(np.int64)
        return Episode(kind, service, t0, t1, t, np.asarray(k, np.int64),
                       np.full(n, target, np.int64), np.asarray(np.broadcast_to(host, n), np.int64),
                       np.full(n, scale, float))

    @staticmethod
    def _concat(kind, service, t0, t1, parts: list[Episode]) -> Episode:
        cat = lambda a: np.concatenate([getattr(p, a) for p in parts])  # noqa: E731
        return Episode(kind, service, t0, t1, cat("t"), cat("k"), cat("target"), cat("host"), cat("scale"))

    def _error_burst(self, rng, t0, t1, _rare):
        w = np.sqrt(P_SERVICE)
        svc = int(rng.choice(len(SERVICES), p=w / w.sum()))
        mine = TPL_SVC == svc
        err = np.flatnonzero(mine & (TPL_LEVEL == "ERROR") & (P_NORMAL > 0))
        if len(err) == 0:
            return None
        fatal = np.flatnonzero(mine & (TPL_LEVEL == "FATAL") & (P_NORMAL > 0))
        warn = np.flatnonzero(mine & (TPL_LEVEL == "WARN") & (P_NORMAL > 0))
        # An error storm: ERROR/FATAL lines from this one service at 12-30x the
        # platform-wide normal ERROR+FATAL rate (about 0.4-1x the platform's whole
        # normal log volume; hundreds of times the service's own error rate).
        mult = rng.uniform(12, 30)
        n_err = int(rng.poisson(mult * self.expected(t0, t1) * P_ERROR_ALL))
        n_warn = int(rng.poisson(0.35 * n_err)) if len(warn) else 0
        primary = int(rng.choice(err, p=P_NORMAL[err] / P_NORMAL[err].sum()))
        u = rng.random(n_err)
        k = np.where(u < 0.7, primary, _pick(rng, err, n_err, np.sqrt(P_NORMAL[err])))
        if len(fatal):
            k = np.where(u > 0.96, _pick(rng, fatal, n_err), k)
        k = np.concatenate([k, _pick(rng, warn, n_warn, P_NORMAL[warn])])
        # one misbehaving host most of the time
        host = np.where(rng.random(len(k)) < 0.75, rng.integers(len(_HOSTS[svc])), -1)
        return self._lines(rng, t0, t1, k, host=host, service=svc, kind="error_burst")

    def _service_down(self, rng, t0, t1, _rare):
        svc = int(rng.choice(DOWNABLE))
        can = lambda role: np.array([i for i in range(K) if TPL_ROLE[i] == role  # noqa: E731
                                     and svc in TPL_TARGETS[i]], dtype=np.int64)
        down, retry, giveup = can("down"), can("retry"), can("giveup")
        # every request that would have reached the service now produces a retry chain
        # (2-3 'Retrying' WARNs, 'Giving up' / 'connection refused' / 'upstream unavailable')
        n = int(rng.poisson(rng.uniform(2.5, 4.5) * self.expected(t0, t1) * P_SERVICE[svc]))
        u = rng.random(n)
        k = _pick(rng, down, n)
        if len(retry):
            k = np.where(u > 0.55, _pick(rng, retry, n), k)
        if len(giveup):
            k = np.where(u > 0.85, _pick(rng, giveup, n), k)
        t1 = min(t1, self.total_ms - 1)
        callers = self._lines(rng, t0, t1, k, target=svc, service=svc, kind="service_down")
        rec = self._lines(rng, t1, t1 + 1, [STARTED_IDX[svc]], service=svc, kind="service_down")
        return self._concat("service_down", svc, t0, t1, [callers, rec])

    def _rare_message(self, rng, t0, t1, rare_order):
        k_r = int(rare_order.pop(0)) if rare_order else int(rng.choice(RARE_IDX))
        rare_order.append(k_r)
        svc = int(TPL_SVC[k_r])
        n = int(np.clip(rng.poisson(0.5 * self.expected(t0, t1) * P_SERVICE[svc]), 3, 60))
        host = int(rng.integers(len(_HOSTS[svc])))
        return self._lines(rng, t0, t1, np.full(n, k_r), host=host, service=svc, kind="rare_message")

    def _latency_spike(self, rng, t0, t1, _rare):
        svc = int(rng.choice(SLOW_SERVICES))
        slow = np.flatnonzero((TPL_SVC == svc) & (np.array([r == "slow" for r in TPL_ROLE])))
        # the service's 'slow' WARN templates at 10-20x their normal rate, with 3-6x
        # larger durations, plus the gateway complaining about the slow upstream
        exp = self.expected(t0, t1)
        mult = rng.uniform(10, 20)
        n = int(rng.poisson(mult * exp * P_NORMAL[slow].sum()))
        scale = rng.uniform(3, 6)
        parts = [self._lines(rng, t0, t1, _pick(rng, slow, n), scale=scale, service=svc, kind="latency_spike")]
        gw_slow = int(np.flatnonzero(TPL_IDS == "gateway.slow_upstream")[0])
        if svc != SERVICES.index("gateway") and svc in TPL_TARGETS[gw_slow]:
            m = n // 2
            parts.append(self._lines(rng, t0, t1, np.full(m, gw_slow), target=svc, scale=scale,
                                     service=svc, kind="latency_spike"))
        return self._concat("latency_spike", svc, t0, t1, parts)


# ----------------------------------------------------------------------- blocks
def _format_messages(rng, k, t_abs, target, scale) -> np.ndarray:
    n = len(k)
    msgs = np.empty(n, dtype=object)
    order = np.argsort(k, kind="stable")
    ks = k[order]
    bounds = np.flatnonzero(np.diff(ks)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [n]])
    for a, b in zip(starts.tolist(), ends.tolist()):
        j = int(ks[a])
        idx = order[a:b]
        tpl = TEMPLATES[j]
        m = b - a
        if not tpl.slots:
            msgs[idx] = tpl.fmt
            continue
        tg = target[idx]
        if len(TPL_TARGETS[j]):
            free = tg < 0
            if free.any():
                tg = tg.copy()
                tg[free] = TPL_TARGETS[j][rng.integers(0, len(TPL_TARGETS[j]), int(free.sum()))]
        ctx = SlotContext(rng, m, t_abs[idx], tg, scale[idx])
        cols = []
        seen: dict[str, list] = {}
        for name, arg in tpl.slots:
            if name in BACKREFS:
                col = seen[BACKREFS[name]]
            else:
                col = SLOTS[name](ctx, arg)
            seen[name] = col
            cols.append(col)
        fmt = tpl.fmt
        if len(cols) == 1:
            out = [fmt % (v,) for v in cols[0]]
        else:
            out = [fmt % tup for tup in zip(*cols)]
        msgs[idx] = out
    return msgs


def _trace_ids(rng, n: int) -> list:
    h = rng.bytes(16 * n).hex()
    ids = np.array([h[i:i + 32] for i in range(0, 32 * n, 32)], dtype=object)
    # ~35 % of lines belong to a request already seen a few lines earlier
    back = rng.geometric(0.25, n)
    src = np.arange(n) - back
    reuse = (rng.random(n) < 0.35) & (src >= 0)
    src = np.where(reuse, src, np.arange(n))
    for _ in range(3):  # follow chains a few hops
        src = src[src]
    return ids[src].tolist()


def _iter_blocks(plan: _Plan, seed: int) -> Iterator[list[dict]]:
    n_bins = len(plan.counts)
    b0 = 0
    block_no = 0
    counts = plan.counts
    csum = np.concatenate([[0], np.cumsum(counts)])
    ep_lo = 0
    while b0 < n_bins:
        # grow the block until it holds ~BLOCK normal lines
        b1 = int(np.searchsorted(csum, csum[b0] + BLOCK, side="left"))
        b1 = min(max(b1, b0 + 1), n_bins)
        t_lo = int(plan.bin_start[b0])
        t_hi = int(plan.bin_start[b1]) if b1 < n_bins else plan.total_ms + 1
        rng = np.random.default_rng([seed, 1, block_no])
        block_no += 1
        c = counts[b0:b1]
        n_norm = int(c.sum())
        t = np.repeat(plan.bin_start[b0:b1], c) + (rng.random(n_norm) * np.repeat(plan.bin_width[b0:b1], c)).astype(np.int64)
        k = np.searchsorted(CDF_NORMAL, rng.random(n_norm), side="right").astype(np.int64)
        for svc, d0, d1 in plan.downs:  # the down service is silent during its outage
            if d1 <= t_lo or d0 >= t_hi:
                continue
            m = (TPL_SVC[k] == svc) & (t >= d0) & (t < d1)
            if m.any():
                k[m] = np.searchsorted(CDF_WITHOUT[svc], rng.random(int(m.sum())), side="right")
        ep_hi = int(np.searchsorted(plan.ep_t, t_hi, side="left"))
        ne = ep_hi - ep_lo
        n = n_norm + ne
        b0 = b1
        if n == 0:
            ep_lo = ep_hi
            continue
        sl = slice(ep_lo, ep_hi)
        ep_lo = ep_hi
        t = np.concatenate([t, plan.ep_t[sl]])
        k = np.concatenate([k, plan.ep_k[sl]])
        target = np.concatenate([np.full(n_norm, -1, np.int64), plan.ep_target[sl]])
        hostf = np.concatenate([np.full(n_norm, -1, np.int64), plan.ep_host[sl]])
        scale = np.concatenate([np.ones(n_norm), plan.ep_scale[sl]])
        kind = np.concatenate([np.full(n_norm, -1, np.int64), plan.ep_kind[sl]])
        order = np.argsort(t, kind="stable")
        t, k, target, hostf, scale, kind = t[order], k[order], target[order], hostf[order], scale[order], kind[order]

        t_abs = t + plan.start_ms
        msgs = _format_messages(rng, k, t_abs, target, scale).tolist()
        svc_idx = TPL_SVC[k]
        hosts = np.empty(n, dtype=object)
        r = rng.integers(0, 1 << 30, n)
        for s in np.unique(svc_idx).tolist():
            m = svc_idx == s
            hs = _HOSTS[s]
            hi = np.where(hostf[m] >= 0, hostf[m], r[m] % len(hs))
            hosts[m] = hs[hi]
        fts = datetime.fromtimestamp
        dts = [fts(x, UTC) for x in (t_abs / 1000.0).tolist()]
        kinds = np.array(EPISODE_KINDS + (None,), dtype=object)[kind].tolist()
        yield list(zip(dts, TPL_SVC_NAME[k].tolist(), TPL_LEVEL[k].tolist(), msgs,
                       (kind >= 0).tolist(), hosts.tolist(), _trace_ids(rng, n),
                       TPL_IDS[k].tolist(), kinds))


def _records(plan: _Plan, seed: int) -> Iterator[dict]:
    for block in _iter_blocks(plan, seed):
        for ts, svc, lvl, msg, anom, host, trace, tid, kind in block:
            yield {"ts": ts, "service": svc, "level": lvl, "message": msg, "is_anomaly": anom,
                   "host": host, "trace_id": trace, "_template": tid, "_episode": kind}


def default_start(days: float) -> datetime:
    now = datetime.now(UTC) - timedelta(days=days)
    return now.replace(second=0, microsecond=0)


def generate(n_logs: int, days: float = 7, seed: int = 42, start: datetime | None = None) -> Iterator[dict]:
    """Yield ``n_logs`` synthetic log records in timestamp order.

    Each record is a dict with ``ts`` (tz-aware UTC datetime, millisecond resolution),
    ``service``, ``level`` (DEBUG/INFO/WARN/ERROR/FATAL), ``message``, ``is_anomaly``
    (ground truth), ``host``, ``trace_id`` and two ground-truth-only keys that writers
    never write: ``_template`` (template id, e.g. ``"payments.charge_ok"``) and
    ``_episode`` (anomaly episode kind for anomalous lines, else ``None``).

    The output is fully determined by ``(n_logs, days, seed, start)``; when ``start``
    is omitted it defaults to now minus ``days``, truncated to the minute.
    """
    if n_logs < 0:
        raise ValueError("n_logs must be >= 0")
    if not days > 0:
        raise ValueError("days must be > 0")
    if start is None:
        start = default_start(days)
    elif start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    else:
        start = start.astimezone(UTC)
    if n_logs == 0:
        return iter(())
    plan = _Plan(int(n_logs), float(days), int(seed), start)
    return _records(plan, int(seed))
