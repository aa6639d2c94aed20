"""The new-logs protocol's plumbing on a real PostgreSQL: the logs are split by time, the model
is trained on the history only, later batches are ingested, injected (that batch only) and
scored by the same model, and the scores count the later logs only."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from logintel import db, evaluate
from logintel.new_logs import detect_on_new_logs, split_by_time
from logintel.synthetic import generate, write_logs


@pytest.fixture(scope="module")
def split(server_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("newlogs")
    path = folder / "all.jsonl"
    write_logs(generate(5000, days=2, seed=5, start=datetime(2026, 1, 5, tzinfo=timezone.utc)), path)
    with evaluate.throwaway_database() as source:
        from logintel.ingest import ingest_paths

        ingest_paths([path], url=source)
        return split_by_time(source, folder / "split", train_fraction=0.7, batches=2)


def _times(path):
    return [json.loads(line)["ts"] for line in path.read_text().splitlines()]


def test_split_is_by_time_and_loses_nothing(split):
    assert sum(split.lines) == 5000 and len(split.batches) == 2
    assert 0.68 <= split.lines[0] / 5000 <= 0.72
    parts = [_times(split.history)] + [_times(b) for b in split.batches]
    for earlier, later in zip(parts, parts[1:]):
        assert max(earlier) <= min(later)


def test_later_batches_are_judged_by_the_model_of_the_history(split):
    with evaluate.scratch_dirs(), evaluate.throwaway_database() as url:
        result = detect_on_new_logs(url, split, rate=0.05, scheme="reference", seed=1)
        with db.connect(url) as conn:
            versions = conn.execute("SELECT version, max_log_id, training_rows FROM logintel.model_versions").fetchall()
            (version, max_log_id, _), = versions  # trained once: nothing retrained
            batch_ids = [r[0] for r in conn.execute(
                "SELECT ingest_batch_id FROM logintel.logs WHERE id > %s GROUP BY 1 ORDER BY 1", (max_log_id,))]
            history = conn.execute("SELECT count(*) FROM logintel.logs WHERE id <= %s", (max_log_id,)).fetchone()[0]
            injected_in = conn.execute("""SELECT DISTINCT l.ingest_batch_id FROM logintel.injected_issues i
                                          JOIN logintel.logs l ON l.id = i.log_id ORDER BY 1""").fetchall()
            unscored = conn.execute("""SELECT count(*) FROM logintel.logs l WHERE NOT EXISTS (
                                         SELECT 1 FROM logintel.ml_predictions p
                                         WHERE p.log_id = l.id AND p.model_version = %s)""", (version,)).fetchone()[0]
            old_findings = conn.execute("SELECT count(*) FROM logintel.dq_findings WHERE log_id <= %s",
                                        (max_log_id,)).fetchone()[0]
            history_batch = conn.execute("SELECT min(ingest_batch_id) FROM logintel.logs WHERE id <= %s",
                                         (max_log_id,)).fetchone()[0]
        # issues injected into the history afterwards count in the all-logs figures, never in the new-logs ones
        from logintel import corrupt

        before = evaluate.detection_scores(url, new_only=True)["level"]["injected"]
        corrupt.inject(url, rate=0.05, scheme="reference", seed=9, batch=history_batch, run="history-too")
        new_only = evaluate.detection_scores(url, new_only=True)["level"]["injected"]
        everything = evaluate.detection_scores(url)["level"]["injected"]
    assert result["model"] == version
    assert history == split.lines[0]  # the model saw the history and nothing else
    assert len(batch_ids) == 2 and [r[0] for r in injected_in] == batch_ids  # issues only in the later batches
    assert unscored == 0
    assert result["new_logs"]["new_logs"] == sum(split.lines[1:])
    level = result["scores"]["level"]
    assert level["injected"] == sum(i["levels_changed"] for i in result["injected"]) > 0
    assert level["findings"] == level["true_positives"]  # and nothing on the clean history counts
    assert old_findings == 0
    assert new_only == before and everything > new_only
