"""A model version's history statistics for the anomaly findings, stored when it is trained.

The episode verdicts (episodes.py) compare new lines with the version's history, the logs up to its
`max_log_id`: each template's duration limit (the 95th percentile of its unflagged lines'
durations, templates with at least 20 such lines), its lines with and without the flag (slow lines
apart), the history's length in episode buckets, and each host's share of its service. The first
findings run of a version computes them in SQL from the history's predictions
(`sql/findings/store_*.sql`, about 4 s at 1M logs: two joins of every prediction with its log).
Training holds every history line already, with the template keys and durations the scoring run
writes into those predictions (the same read, `frames.read_logs`), so when it read the whole
history (no sample) it stores the same rows from its frame, vectorised; the findings run then finds
them stored. The percentile is computed with PostgreSQL's `percentile_cont` arithmetic, so the
limits are the same numbers to the bit (tests/integration/test_history_stats.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import psycopg

from . import db

PERCENTILE = 0.95  # sql/findings/store_duration_limits.sql
MIN_DURATION_LINES = 20
LIMIT_COLUMNS = ["model_version", "service", "template_key", "slow_ms"]
BASELINE_COLUMNS = ["model_version", "service", "template_key", "slow", "flagged", "unflagged", "span_buckets"]


def percentile_cont(values: np.ndarray, groups: np.ndarray, n_groups: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(value, lines) per group code 0..n_groups-1: PostgreSQL's `percentile_cont(fraction)` of the
    group's values (its float8 arithmetic: first + (row - floor(row)) * (second - first), row =
    fraction * (n - 1)); NaN for an empty group."""
    ordered = values[np.lexsort((values, groups))]
    lines = np.bincount(groups, minlength=n_groups)
    starts = np.cumsum(lines) - lines
    present = np.flatnonzero(lines)
    row = fraction * (lines[present] - 1).astype(np.float64)
    first_row, second_row = np.floor(row), np.ceil(row)
    first = ordered[starts[present] + first_row.astype(np.int64)]
    second = ordered[starts[present] + second_row.astype(np.int64)]
    value = np.full(n_groups, np.nan)
    value[present] = np.where(second_row > first_row, first + (row - first_row) * (second - first), first)
    return value, lines


def history_tables(services: np.ndarray, keys: np.ndarray, flags: np.ndarray, durations: np.ndarray,
                   span_buckets: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(duration limits, baseline) of the history lines given column-wise (flags: 1 / 0 / -1 for
    unknown, as `ml.features.flags_array`; durations: float, NaN for none), as `store_duration_limits.sql` and `store_anomaly_baseline.sql`
    compute them from the predictions."""
    if len(services) == 0:
        return pd.DataFrame(columns=LIMIT_COLUMNS[1:]), pd.DataFrame(columns=BASELINE_COLUMNS[1:])
    # (service, template) codes from each column's own codes: factorizing string pairs is 5x slower
    service_codes, service_names = pd.factorize(services)
    key_codes, key_names = pd.factorize(keys)
    codes, pair_codes = pd.factorize(service_codes.astype(np.int64) * len(key_names) + key_codes)
    uniques = pd.MultiIndex.from_arrays([service_names[pair_codes // len(key_names)],
                                         key_names[pair_codes % len(key_names)]], names=["service", "template_key"])
    n_groups = len(uniques)
    flag = np.asarray(flags, dtype=np.int8)
    dur = np.asarray(durations, dtype=np.float64)
    unflagged = (flag == 0) & ~np.isnan(dur)
    value, lines = percentile_cont(dur[unflagged], codes[unflagged], n_groups, PERCENTILE)
    has_limit = lines >= MIN_DURATION_LINES
    limits = uniques[has_limit].to_frame(index=False).assign(slow_ms=value[has_limit])

    known = flag >= 0
    limit_of = np.where(has_limit, value, np.nan)[codes[known]]
    slow = dur[known] > limit_of  # NaN on either side: not slow, as coalesce(... > ..., false)
    counted = pd.DataFrame({"code": codes[known], "slow": slow, "flagged": flag[known] == 1})
    counted["unflagged"] = ~counted["flagged"]
    sums = counted.groupby(["code", "slow"], sort=True)[["flagged", "unflagged"]].sum().reset_index()
    names = uniques[sums["code"].to_numpy()].to_frame(index=False)
    baseline = pd.concat([names, sums[["slow", "flagged", "unflagged"]]], axis=1).assign(span_buckets=span_buckets)
    return limits, baseline


def history_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """What the statistics need of a training frame (every history line, read by
    `frames.read_logs`): service, template key, flag and duration, as the scoring run writes them
    into the predictions. Taken before training, which may change its frame."""
    from .durations import line_durations_ms
    from .ml.features import flags_array, frame_template_keys

    return pd.DataFrame({"service": frame["service"].to_numpy(dtype=object), "template_key": frame_template_keys(frame),
                         "flag": flags_array(frame), "duration": line_durations_ms(frame)})


def store(conn: psycopg.Connection, version: str, history: pd.DataFrame, max_log_id: int) -> bool:
    """Store the history statistics of `version` from `history_columns` of its training frame, in
    the caller's transaction (after the version is registered); nothing when they are stored
    already. Returns whether it stored them."""
    from . import episodes

    params = {"model_version": version}
    if conn.execute(db.sql("findings/history_stored"), params).fetchone()[0]:
        return False
    (span,) = conn.execute(db.sql("findings/history_span_buckets"),
                           {"max_log_id": int(max_log_id), "bucket_minutes": episodes.BUCKET_MINUTES}).fetchone()
    limits, baseline = history_tables(history["service"].to_numpy(dtype=object),
                                      history["template_key"].to_numpy(dtype=object),
                                      history["flag"].to_numpy(), history["duration"].to_numpy(),
                                      float(span))
    db.copy_rows(conn, "logintel.duration_limits", LIMIT_COLUMNS,
                 ((version, s, k, float(v)) for s, k, v in limits.itertuples(index=False)))
    db.copy_rows(conn, "logintel.anomaly_baselines", BASELINE_COLUMNS,
                 ((version, s, k, bool(slow), int(f), int(u), float(b))
                  for s, k, slow, f, u, b in baseline.itertuples(index=False)))
    conn.execute(db.sql("findings/store_host_shares"), params)
    return True
