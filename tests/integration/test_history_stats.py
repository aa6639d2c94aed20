"""The history statistics a model's training stores (history_stats.py) are the rows its first
findings run would compute in SQL from the history's predictions, to the bit."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import psycopg
import pytest

from logintel import corrupt, db, findings, history_stats, registry, scoring, training
from logintel.ingest import ingest_paths
from logintel.synthetic import generate, write_logs

_TABLES = {
    "duration_limits": "SELECT service, template_key, slow_ms FROM logintel.duration_limits WHERE model_version = %s "
                       "ORDER BY 1, 2",
    "anomaly_baselines": "SELECT service, template_key, slow, flagged, unflagged, span_buckets "
                         "FROM logintel.anomaly_baselines WHERE model_version = %s ORDER BY 1, 2, 3",
    "host_shares": "SELECT service, host, share FROM logintel.host_shares WHERE model_version = %s ORDER BY 1, 2",
}


def _stored(url: str, version: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {name: conn.execute(query, (version,)).fetchall() for name, query in _TABLES.items()}


def _forget(url: str, version: str) -> None:
    with psycopg.connect(url) as conn:
        for table in _TABLES:
            conn.execute(f"DELETE FROM logintel.{table} WHERE model_version = %s", (version,))


@pytest.fixture(scope="module")
def trained(module_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("logs") / "app.jsonl"
    write_logs(generate(6000, days=2, seed=5, start=datetime(2026, 3, 2, tzinfo=timezone.utc)), path)
    ingest_paths([path], url=module_db)
    corrupt.inject(module_db, rate=0.03, seed=4)
    # a history with lines no scoring run takes (no level) still counts in the span and host shares
    with psycopg.connect(module_db) as conn:
        conn.execute("UPDATE logintel.logs SET level = NULL WHERE id IN (SELECT min(id) FROM logintel.logs UNION "
                     "SELECT max(id) FROM logintel.logs)")
    return module_db, training.train_and_register(module_db).version


def test_training_stores_the_history_statistics_the_first_findings_run_would_compute(trained):
    url, version = trained
    at_training = _stored(url, version)
    assert len(at_training["duration_limits"]) >= 5 and len(at_training["host_shares"]) >= 2
    assert any(r[2] for r in at_training["anomaly_baselines"]), "some history lines are slow"
    assert sum(r[3] for r in at_training["anomaly_baselines"]) > 0, "some history lines are flagged"
    _forget(url, version)
    scoring.score_all(url, run_key="history")
    with db.transaction(url) as conn:  # the findings run's own statements, on the history's predictions
        findings.compute_anomaly_verdicts(conn, registry.require_champion(url))
    assert _stored(url, version) == at_training
    # stored once: a findings run and a re-registration keep them
    findings.record_findings(url, "history")
    assert _stored(url, version) == at_training


def test_training_on_a_sample_leaves_the_statistics_to_the_first_findings_run(trained):
    url, _ = trained
    before = registry.require_champion(url).version
    sampled = training.train_and_register(url, seed=3, max_rows=1000).version
    try:
        assert _stored(url, sampled) == {name: [] for name in _TABLES}
    finally:
        with db.transaction(url) as conn:
            conn.execute("UPDATE logintel.model_versions SET status = 'retired' WHERE status = 'champion'")
            conn.execute("UPDATE logintel.model_versions SET status = 'champion' WHERE version = %s", (before,))


def test_the_percentile_is_postgresqls_percentile_cont_to_the_bit(server_url):
    rng = np.random.default_rng(0)
    sizes = [1, 2, 3, 7, 20, 21, 99, 400]
    groups = np.repeat(np.arange(len(sizes)), sizes)
    scale = 10.0 ** rng.integers(0, 6, len(groups))  # as many decimals as log lines give
    values = (np.round(rng.lognormal(3, 1.5, len(groups)) * scale) / scale).astype(np.float32)
    values[groups == 5] = 7.0  # ties
    mine, lines = history_stats.percentile_cont(values.astype(np.float64), groups, len(sizes) + 1,
                                                history_stats.PERCENTILE)
    with psycopg.connect(server_url) as conn:
        theirs = dict(conn.execute(
            "SELECT g, percentile_cont(%s) WITHIN GROUP (ORDER BY v) FROM unnest(%s::int[], %s::real[]) AS t(g, v) "
            "GROUP BY g", (history_stats.PERCENTILE, groups.tolist(), values.tolist())).fetchall())
    assert lines.tolist() == [*sizes, 0] and np.isnan(mine[-1])
    assert [float(v) for v in mine[:-1]] == [theirs[g] for g in range(len(sizes))]
