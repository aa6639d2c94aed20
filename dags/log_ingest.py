"""log_ingest: load new log files into PostgreSQL."""
from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from logintel.airflow.defaults import DEFAULT_ARGS, START, TAGS
from logintel.airflow.assets import LOGS

DOC = """
### Ingest logs
Scans the landing folder (or the files/folders given in **paths**) and loads every
new file with COPY. Files already loaded (same sha256) are skipped; records already
stored (same dedupe key) count as duplicates; unparseable records go to
`logintel.logs_quarantine` with their raw bytes and the reason. The batch's counts in
`logintel.ingest_batches` always add up: read = loaded + duplicates + quarantined.

Emits the `logintel_logs` asset, which triggers **log_quality** and **log_scoring**, only
when something was loaded: a run that finds nothing new skips its ingest task (a skipped
task emits no asset event), so the downstream DAGs run only for real changes.
"""


@dag(dag_id="log_ingest", schedule="@hourly", start_date=START, catchup=False, max_active_runs=1,
     default_args=DEFAULT_ARGS, tags=TAGS + ["ingest"], doc_md=DOC,
     params={
         "paths": Param([], type="array", items={"type": "string"}, title="Files or folders",
                        description="Empty: the landing folder (LOGINTEL_LANDING_DIR)."),
         "service": Param(None, type=["null", "string"], title="Default service",
                          description="Service for records that name none."),
     })
def log_ingest():
    @task
    def prepare_database() -> dict:
        from logintel.airflow import tasks

        return tasks.prepare_database()

    @task(outlets=[LOGS])
    def ingest_files() -> dict:
        from logintel.airflow import tasks

        params = get_current_context()["params"]
        result = tasks.ingest(params.get("paths") or None, params.get("service"))
        tasks.skip_unless_changed(result["loaded"], "no new log records were loaded")
        return result

    prepare_database() >> ingest_files()


log_ingest()
