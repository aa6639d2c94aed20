"""log_retention: archive, verify, then drop the day partitions of the logs older than the retention."""
from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from logintel.airflow.defaults import DEFAULT_ARGS, START, TAGS
from logintel.settings import get_settings

DOC = """
### Retention of the logs
Daily (02:30 UTC). `logintel.logs` is partitioned by day of ingestion time (`logs_pYYYYMMDD`);
this DAG first creates the partitions of the coming week (ingest also creates three days
ahead), then, for every partition whose day ended more than **days** ago:

1. **archive**: its logs (gzip JSON lines that `logintel ingest` loads back) and their findings
   (every column) under `LOGINTEL_ARCHIVE_DIR/<partition>/`, then `manifest.json` with the row
   counts, each file's sha256 and the time range; each file is re-read and counted;
2. **drop**, in one transaction, only if the files still hash to the manifest and hold as many
   lines as the partition holds rows now: the predictions, findings, injected truth and dedupe
   keys of those logs are deleted, the partition detached and dropped. Group decisions stay (they
   have no log ids and stand for new lines).

A partition whose archive failed or does not match is never dropped; the attempt is recorded in
`logintel.retention_archives` with the reason and the task fails, so it shows in Airflow. Runs
again safely: archived-and-dropped partitions are gone, failed ones are tried again.

Params: **days** (default `LOGINTEL_RETENTION_DAYS`), **dry_run** (list what is due, change nothing).
"""


@dag(dag_id="log_retention", schedule="30 2 * * *", start_date=START, catchup=False, max_active_runs=1,
     default_args=DEFAULT_ARGS, tags=TAGS + ["retention"], doc_md=DOC,
     params={"days": Param(get_settings().retention_days, type="integer", minimum=1, title="Retention (days)",
                           description="Partitions whose day ended longer ago than this are archived and dropped."),
             "dry_run": Param(False, type="boolean", title="Dry run",
                              description="Only list the partitions that are due.")})
def log_retention():
    @task
    def archive_and_drop() -> dict:
        from logintel.airflow import tasks

        params = get_current_context()["params"]
        tasks.prepare_database()
        return tasks.apply_retention(int(params["days"]), bool(params["dry_run"]))

    archive_and_drop()


log_retention()
