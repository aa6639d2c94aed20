"""log_scoring: score unscored logs every six hours (and when new logs arrive), then record findings."""
from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, get_current_context, task

from logintel.airflow.defaults import DEFAULT_ARGS, START, TAGS
from logintel.airflow.assets import DRIFT, FINDINGS, LOGS, MODELS, PREDICTIONS
from logintel.settings import get_settings

DOC = """
### Score logs and record findings
Every six hours (`0 */6 * * *`, UTC), whenever `logintel_logs` changes and whenever a new
champion is promoted (`logintel_model_versions`: the logs are then re-scored by it):

1. **plan** creates the scoring run once (run id, champion version, artifact and its sha256:
   passed to every later step through XCom, so a promotion mid-run changes nothing);
   **partitions** splits the logs without a prediction from that model into id ranges;
2. **score_partition** (mapped, one task per partition, so Celery/Kubernetes workers share
   the work): read with COPY, mask each message to its template, score each template once,
   write `logintel.ml_predictions` with COPY into a staging table and one upsert per chunk;
3. **finish** closes the run; **findings**: template statistics and out-of-group model
   probabilities of the run's model give level verdicts; the GX suite `prediction_findings` validates `logintel.v_prediction_checks` and the
   failing ids become `logintel.dq_findings` (unique per log, kind and model: re-runs add nothing);
   **publish_predictions** / **publish_findings** emit the `logintel_ml_predictions` /
   `logintel_dq_findings` asset events only when logs were scored / findings are new (else they
   are skipped: no event, so downstream DAGs run only for real changes); the findings event
   carries the counts (`extra`: new_findings, by_kind, model_version);
4. **report**: rebuilds the HTML report; **alert**: one digest of the new open finding groups
   (confidence ≥ LOGINTEL_ALERT_CONFIDENCE) through the Airflow connection `logintel_alerts`
   (smtp: e-mail; http: a JSON webhook, e.g. Slack); a group is sent once, nothing is sent when
   nothing is new, and a failing notifier is recorded in `logintel.alerts`, never a failed task.
5. **coverage** (runs even when scoring failed): per service, the share of the logs stored
   before the run that the champion has scored, the oldest one still unscored and the run's
   scoring lag go to `logintel.coverage_snapshots`; the GX suite `scoring_coverage` checks them
   (≥ LOGINTEL_MIN_COVERAGE scored, none waiting over LOGINTEL_MAX_UNSCORED_HOURS) and the task
   fails when it fails, so a stalled pipeline is a failed, recorded validation; **drift**: per
   service, the share of lines from templates the model's history never had, a new service,
   the PSI of the level mix and of message lengths, the anomaly-flag rate against the history's,
   to `logintel.drift_snapshots`, checked by the GX suite `scoring_drift` (thresholds
   `LOGINTEL_DRIFT_*`); drift is recorded (dq_runs, Data Docs), the task still succeeds;
   **publish_drift** emits the `logintel_drift_snapshots` asset event only when the drift suite
   failed: that triggers log_training (a challenger judged against the champion).

Params: **partitions** (mapped tasks), **chunk_size** (rows per transaction),
**confidence** (minimum confidence of a level finding), **anomaly_confidence** (minimum confidence of an
anomaly finding; its confidences are calibrated, so 0.5 = more likely right than not).
"""


@dag(dag_id="log_scoring",
     schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 */6 * * *", timezone="UTC"),
                                  assets=(LOGS | MODELS)),
     start_date=START, catchup=False, max_active_runs=1, default_args=DEFAULT_ARGS,
     tags=TAGS + ["ml", "scoring", "great_expectations"], doc_md=DOC,
     params={
         "partitions": Param(get_settings().partitions, type="integer", minimum=1, maximum=64, title="Partitions",
                             description="Mapped scoring tasks (id ranges)."),
         "chunk_size": Param(get_settings().chunk_size, type="integer", minimum=1000, maximum=5000000, title="Chunk size",
                             description="Rows per read/score/write transaction."),
         "confidence": Param(get_settings().confidence, type="number", minimum=0.5, maximum=1.0, title="Confidence threshold",
                             description="Minimum confidence of a level finding."),
         "anomaly_confidence": Param(get_settings().anomaly_confidence, type="number", minimum=0.5, maximum=1.0,
                                     title="Anomaly confidence threshold",
                                     description="Minimum (calibrated) confidence of an anomaly finding."),
     })
def log_scoring():
    @task
    def plan() -> dict:
        from logintel.airflow import tasks

        ctx = get_current_context()
        tasks.prepare_database()
        return tasks.start_scoring_run(ctx["run_id"])

    @task
    def partitions(run: dict) -> list[dict]:
        from logintel.airflow import tasks

        return tasks.plan_partitions(run, int(get_current_context()["params"]["partitions"]))

    @task
    def score_partition(run: dict, part: dict) -> dict:
        from logintel.airflow import tasks

        chunk = int(get_current_context()["params"]["chunk_size"])
        return tasks.score_partition(run, part, chunk)

    @task
    def finish(run: dict, results) -> dict:
        from logintel.airflow import tasks

        # len(), not list(): iterating the mapped results reads one past the end (an error line in the log)
        return tasks.finish_scoring(run, len(results))

    @task(outlets=[PREDICTIONS])
    def publish_predictions(finished: dict) -> None:
        from logintel.airflow import tasks

        tasks.skip_unless_changed(finished["scored"], "no log was scored")

    @task
    def findings(run: dict) -> dict:
        from logintel.airflow import tasks

        params = get_current_context()["params"]
        return tasks.record_findings(run, float(params["confidence"]), float(params["anomaly_confidence"]))

    @task(outlets=[FINDINGS])
    def publish_findings(found: dict) -> None:
        from logintel.airflow import tasks

        tasks.publish_findings(found, get_current_context()["outlet_events"], FINDINGS)

    @task
    def alert(run: dict) -> dict:
        from logintel.airflow import tasks

        return tasks.send_alerts(run)

    @task
    def drift(run: dict) -> dict:
        from logintel.airflow import tasks

        return tasks.check_drift(run)

    @task(outlets=[DRIFT])
    def publish_drift(result: dict) -> None:
        from logintel.airflow import tasks

        tasks.publish_drift(result)

    @task(trigger_rule="all_done")
    def coverage() -> dict:
        from logintel.airflow import tasks

        return tasks.check_coverage(get_current_context()["run_id"])

    @task
    def report() -> str:
        from logintel.airflow import tasks

        return tasks.write_report()

    run = plan()
    scored = score_partition.partial(run=run).expand(part=partitions(run))
    finished = finish(run, scored)
    publish_predictions(finished)
    found = findings(run)
    finished >> found >> [report(), alert(run)]
    finished >> coverage()
    drifted = drift(run)
    finished >> drifted
    publish_drift(drifted)
    publish_findings(found)


log_scoring()
