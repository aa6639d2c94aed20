"""Every DAG imports cleanly, imports nothing heavy at parse time, and is documented, tagged and retried."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
EXPECTED = {"log_ingest", "log_extract", "log_quality", "log_training", "log_scoring", "log_simulate_issues",
            "log_retention"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_expected_dags_present(dagbag):
    assert EXPECTED <= set(dagbag.dag_ids)


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_has_docs_tags_retries(dagbag, dag_id):
    dag = dagbag.get_dag(dag_id)
    assert dag.doc_md and len(dag.doc_md.strip()) > 80, "doc_md explains the DAG in the UI"
    assert "logintel" in dag.tags
    assert dag.max_active_runs == 1
    for t in dag.tasks:
        assert t.retries >= 1, f"{dag_id}.{t.task_id} has no retries"


def test_scoring_schedule_is_six_hourly_and_asset_triggered(dagbag):
    dag = dagbag.get_dag("log_scoring")
    timetable = dag.timetable
    assert timetable.timetable.expression == "0 */6 * * *"
    assert "logintel_logs" in repr(timetable.asset_condition)
    mapped = [t for t in dag.tasks if t.task_id == "score_partition"]
    assert mapped and mapped[0].is_mapped


def test_params_validate(dagbag):
    from airflow.exceptions import ParamValidationError

    rate = dagbag.get_dag("log_simulate_issues").params.get_param("rate")
    assert rate.resolve(0.05) == 0.05
    with pytest.raises(ParamValidationError):
        rate.resolve(0.9)  # above the maximum of the trigger form
    scheme = dagbag.get_dag("log_simulate_issues").params.get_param("scheme")
    with pytest.raises(ParamValidationError):
        scheme.resolve("random")


HEAVY = ("pandas", "numpy", "sklearn", "scipy", "great_expectations", "matplotlib", "joblib", "jinja2",
         "psycopg", "sqlalchemy.orm")


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_nothing_heavy(dag_file):
    """Parse cost is measured by what a DAG file imports, not by seconds (a loaded machine makes
    any time limit flaky): after Airflow itself, the file may add only light modules."""
    code = ("import runpy, sys; import airflow.sdk; sys.path.insert(0, %r); before = set(sys.modules); "
            "runpy.run_path(%r); import json; added = sorted(set(sys.modules) - before); "
            "print(json.dumps({'added': added, 'heavy': [m for m in added if m.split('.')[0] in %r "
            "or m in %r]}))" % (str(DAGS), str(dag_file), tuple(h.split(".")[0] for h in HEAVY if "." not in h),
                                tuple(h for h in HEAVY if "." in h)))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], f"{dag_file.name} imports heavy modules at parse time: {result['heavy']}"
    assert any(m.startswith("logintel") for m in result["added"]), "the check saw the DAG's own imports"


def test_the_publish_tasks_emit_an_event_only_for_a_change():
    """log_scoring's outlets sit on publish_predictions / publish_findings, which skip (a skipped
    task emits no asset event) when nothing was scored or nothing new was found."""
    from airflow.sdk.exceptions import AirflowSkipException

    from logintel.airflow import tasks

    class Events(dict):
        def __missing__(self, key):
            self[key] = type("Event", (), {"extra": None})()
            return self[key]

    found = {"model_version": "v1", "new_findings": 0, "by_kind": {"level_understated": 3}, "gx_success": False}
    events = Events()
    with pytest.raises(AirflowSkipException):
        tasks.publish_findings(found, events, "findings-asset")
    assert "findings-asset" not in events
    tasks.publish_findings({**found, "new_findings": 2}, events, "findings-asset")
    assert events["findings-asset"].extra == {"model_version": "v1", "new_findings": 2,
                                              "by_kind": {"level_understated": 3}, "gx_success": False}
    with pytest.raises(AirflowSkipException):
        tasks.skip_unless_changed(0, "no log was scored")


def test_log_scoring_puts_its_outlets_on_the_publish_tasks(dagbag):
    dag = dagbag.get_dag("log_scoring")
    outlets = {t.task_id: [a.name for a in t.outlets] for t in dag.tasks if t.outlets}
    assert outlets == {"publish_predictions": ["logintel_ml_predictions"], "publish_findings": ["logintel_dq_findings"],
                       "publish_drift": ["logintel_drift_snapshots"]}


def test_retraining_is_weekly_on_drift_or_by_hand_and_a_promotion_rescores(dagbag):
    """log_training runs weekly and on the drift asset, emits the models asset from its publish
    task only (skipped unless the champion changed), and log_scoring runs on new logs or a new
    champion; the rollback param is a validated boolean."""
    from airflow.exceptions import ParamValidationError
    from airflow.sdk.exceptions import AirflowSkipException

    from logintel.airflow import tasks

    training = dagbag.get_dag("log_training")
    assert training.timetable.timetable.expression == "0 0 * * 0"
    assert "logintel_drift_snapshots" in repr(training.timetable.asset_condition)
    outlets = {t.task_id: [a.name for a in t.outlets] for t in training.tasks if t.outlets}
    assert outlets == {"publish_model": ["logintel_model_versions"]}
    condition = repr(dagbag.get_dag("log_scoring").timetable.asset_condition)
    assert "logintel_logs" in condition and "logintel_model_versions" in condition and "AssetAny" in condition
    rollback = training.params.get_param("rollback")
    assert rollback.resolve(True) is True
    with pytest.raises(ParamValidationError):
        rollback.resolve("yes please")
    with pytest.raises(AirflowSkipException):
        tasks.publish_drift({"success": True, "failed": []})
    tasks.publish_drift({"success": False, "failed": [{"expectation": "psi"}]})  # emits: no exception
