"""Model registry and scoring-run identity on a real PostgreSQL: a run keeps the model it started
with, and an artifact that no longer loads is rebuilt by training again."""
from __future__ import annotations

from pathlib import Path

import joblib
import psycopg
import pytest

from datetime import datetime, timezone

from logintel import db, ml, registry, scoring, training
from logintel.hashing import file_sha256
from logintel.ingest import ingest_paths
from logintel.synthetic import generate, write_logs


@pytest.fixture(scope="module")
def trained(module_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("logs") / "app.jsonl"
    write_logs(generate(2500, days=1, seed=3, start=datetime(2026, 1, 5, tzinfo=timezone.utc)), path)
    ingest_paths([path], url=module_db)
    result = training.train_and_register(module_db, seed=0)
    assert result.status == "champion"
    return module_db


def test_a_run_keeps_its_model_when_another_is_promoted(trained):
    run = scoring.start_run(trained, "identity-run")
    first = registry.require_champion(trained)
    assert run.model == first
    other = training.train_and_register(trained, seed=5)  # same data, another seed
    with db.transaction(trained) as conn:  # promoted while the run is under way
        conn.execute("UPDATE logintel.model_versions SET status = 'retired' WHERE version = %s", (first.version,))
        conn.execute("UPDATE logintel.model_versions SET status = 'champion' WHERE version = %s", (other.version,))
    assert registry.require_champion(trained).version == other.version != first.version
    again = scoring.start_run(trained, "identity-run")  # e.g. a retried plan task
    assert again == run  # same id, same model: the promotion did not relabel the run
    assert scoring.ScoringRun.from_dict(run.as_dict()) == run  # what XCom carries
    parts = scoring.plan_partitions(trained, run, 2)
    (whole,) = scoring.plan_partitions(trained, run, 1)  # one aggregate, not ntile: the same extent
    assert (whole["lo"], whole["hi"], whole["n"]) == (parts[0]["lo"], parts[-1]["hi"], sum(p["n"] for p in parts))
    scored = sum(scoring.score_partition(trained, run, p["lo"], p["hi"]).scored for p in parts)
    assert scored > 0
    with psycopg.connect(trained) as conn:
        versions = {r[0] for r in conn.execute(
            "SELECT DISTINCT model_version FROM logintel.ml_predictions WHERE scoring_run_id = %s", (run.run_id,))}
        label = conn.execute("SELECT model_version FROM logintel.scoring_runs WHERE id = %s",
                             (run.run_id,)).fetchone()[0]
    assert versions == {first.version} and label == first.version


def test_training_again_rebuilds_an_artifact_that_does_not_load(trained):
    champ = registry.require_champion(trained)
    path = Path(champ.artifact_path)
    joblib.dump({"not": "a bundle"}, path)  # e.g. a file of an older bundle format
    sha = file_sha256(path)
    with db.transaction(trained) as conn:
        conn.execute("UPDATE logintel.model_versions SET artifact_sha256 = %s WHERE version = %s", (sha, champ.version))
    with pytest.raises(ml.ArtifactError, match="retrain"):
        ml.load(path, sha)
    seed = int(champ.version.rsplit("-s", 1)[1])
    result = training.train_and_register(trained, seed=seed)
    assert result.created and result.version == champ.version and result.status == "champion"
    rebuilt = registry.require_champion(trained)
    assert rebuilt.version == champ.version
    ml.load(rebuilt.artifact_path, rebuilt.sha256)  # loads again
    assert training.train_and_register(trained, seed=seed).created is False  # and is kept from now on
