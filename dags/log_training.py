"""log_training: train a challenger and promote it only when it beats the champion on the same recent logs."""
from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, get_current_context, task

from logintel.airflow.defaults import DEFAULT_ARGS, START, TAGS
from logintel.airflow.assets import DRIFT, MODELS

DOC = """
### Train the models (champion and challenger)
Weekly (Sunday 00:00 UTC), whenever a scoring run's drift suite fails (the
`logintel_drift_snapshots` asset), or by hand (the trigger button).

Trains the level classifier on masked message templates (with out-of-group probabilities
per template) and the anomaly model, saves the artifact with joblib and its sha256, and
records the version in `logintel.model_versions`.

* **No champion yet**: the version trains on every stored log and becomes the first champion.
* **Otherwise it is a challenger.** It trains on the logs before a chronological hold-out (the
  newest `LOGINTEL_HOLDOUT_SHARE` of the logs stored since the champion's training data), and
  both versions are judged **on that same hold-out** in a scratch database: confirmed triage
  decisions count as truth, issues are injected as in the detection benchmark, and the real
  scoring and findings path runs once per version. The challenger is promoted only when its
  finding precision is better by `LOGINTEL_PROMOTION_MARGIN` (or equal, and recall better by
  it). Too few new logs (`LOGINTEL_MIN_HOLDOUT_LOGS`): it stays a candidate, not compared.
  Every decision and both versions' figures go to `logintel.model_decisions`.
* **publish_model** emits the `logintel_model_versions` asset event only when the champion
  changed: log_scoring then re-scores the logs with the new champion (finding groups keep
  their ids, decisions and alert state across versions).

Params: **seed**; **rollback** (true: no training, the champion before the current one becomes
champion again; the same as `logintel models rollback`).
Training twice on the same data registers nothing new.
"""


@dag(dag_id="log_training",
     schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 0 * * 0", timezone="UTC"), assets=[DRIFT]),
     start_date=START, catchup=False, max_active_runs=1,
     default_args=DEFAULT_ARGS, tags=TAGS + ["ml"], doc_md=DOC,
     params={"seed": Param(0, type="integer", minimum=0, title="Random seed"),
             "rollback": Param(False, type="boolean", title="Roll back",
                               description="Make the previous champion champion again instead of training.")})
def log_training():
    @task
    def train_models() -> dict:
        from logintel.airflow import tasks

        params = get_current_context()["params"]
        tasks.prepare_database()
        if params["rollback"]:
            return tasks.rollback_model()
        return tasks.train_models(int(params["seed"]))

    @task(outlets=[MODELS])
    def publish_model(result: dict) -> None:
        from logintel.airflow import tasks

        tasks.skip_unless_changed(int(result["champion_changed"]), "the champion did not change")

    publish_model(train_models())


log_training()
