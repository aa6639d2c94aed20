"""log_quality: the Great Expectations suite on every new batch of logs."""
from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from logintel.airflow.defaults import DEFAULT_ARGS, START, TAGS
from logintel.airflow.assets import LOGS, LOGS_VALIDATED

DOC = """
### Data quality of new logs
Runs when `logintel_logs` changes. Validates the batches no quality run has covered
with the GX suite `logs_quality` on the Postgres data source (the checks run as SQL in
the database): level in the allowed set, message present and of sane length, timestamp
present and not in the future beyond the tolerance (`LOGINTEL_FUTURE_TOLERANCE_MINUTES`),
service present, dedupe keys unique.

Results go to `logintel.dq_runs` and to Data Docs (`gx/uncommitted/data_docs/local_site/index.html`).
A failed expectation is a recorded finding, not a failed task.
"""


@dag(dag_id="log_quality", schedule=[LOGS], start_date=START, catchup=False, max_active_runs=1,
     default_args=DEFAULT_ARGS, tags=TAGS + ["quality", "great_expectations"], doc_md=DOC)
def log_quality():
    @task(outlets=[LOGS_VALIDATED])
    def validate_new_batches() -> dict:
        from logintel.airflow import tasks

        tasks.prepare_database()
        return tasks.validate_new_batches(get_current_context()["run_id"])

    validate_new_batches()


log_quality()
