"""Detection on the real path (ingest, inject, train, score, GX findings), on a small fixed case:
6,000 generated logs with a fixed time anchor, so the expected findings are exact. Quality
targets over many datasets live in bench/detection.py; this pins the level rules' behaviour."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from logintel import evaluate
from logintel.synthetic import generate, write_logs


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    path = tmp_path_factory.mktemp("det") / "fixed.jsonl"
    write_logs(generate(6000, days=1, seed=21, start=datetime(2026, 1, 5, tzinfo=timezone.utc)), path)
    return path


def _run(path, rate: float) -> dict:
    with evaluate.scratch_dirs(), evaluate.throwaway_database() as url:
        return evaluate.run_on(url, [path], rate=rate, scheme="reference", seed=1)


def test_clean_logs_get_no_level_finding(server_url, logs):
    result = _run(logs, 0.0)
    assert result["scores"]["level"]["injected"] == 0
    assert result["scores"]["level"]["findings"] == 0
    assert not any(k.startswith("level_") for k in result["findings"])


def test_wrong_levels_are_found_exactly(server_url, logs):
    level = _run(logs, 0.05)["scores"]["level"]
    assert level["injected"] == 47  # 5 % of the WARN-or-worse lines of this fixed sample
    # every finding is an injected line, with the original level as its suggestion
    assert level["findings"] == level["true_positives"] == level["exact_suggestions"]
    assert level["true_positives"] >= 45  # recall >= 0.95


def test_findings_roll_up_into_groups_a_person_would_fix(server_url, logs):
    from logintel import findings

    with evaluate.scratch_dirs(), evaluate.throwaway_database() as url:
        evaluate.run_on(url, [logs], rate=0.05, scheme="reference", seed=1)
        rows = findings.export(url)
        groups = findings.export_groups(url)
        again = findings.export_groups(url)
    assert sum(g["findings"] for g in groups) == len(rows) > 0
    assert len(groups) < len(rows)  # many lines, few call sites
    level = [g for g in groups if g["kind"].startswith("level_")]
    for g in level:  # one call site, one wrong level, one suggestion
        members = [r for r in rows if r["kind"] == g["kind"] and r["recorded_value"] == g["recorded_value"]
                   and r["suggested_value"] == g["suggested_value"] and r["service"] == (g["service"] or None)]
        assert len(members) >= g["findings"]
        assert 1 <= len(g["sample_lines"]) <= 3 and g["status"] == "open" and g["first_seen"] <= g["last_seen"]
    assert [g["group_id"] for g in groups] == [g["group_id"] for g in again]  # stable ids
    assert len({g["group_id"] for g in groups}) == len(groups)
