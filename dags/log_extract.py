"""log_extract: read new rows of a PostgreSQL log table in place, incrementally."""
from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from logintel.airflow.defaults import DEFAULT_ARGS, START, TAGS
from logintel.airflow.assets import LOGS

DOC = """
### Extract logs from a database table
Reads the rows of **table** (in the database of the Airflow connection **conn_id**, read through
the Task SDK; libpq extras such as `sslmode` are honoured) whose **key** is above the source's
watermark, in chunks of **chunk_rows**: each chunk is one ingest batch, and the watermark
(`logintel.extract_watermarks`) advances in the same transaction, so a kill or an outage loses
nothing and a re-run reads nothing twice. **preset** `log_entries` maps the replaced system's
table (`timestamp`, `level`, `message`, `service`, `host`, `is_anomaly`); every other column is
kept in `attrs`. Bad rows (no level, an unknown level, no message, a timestamp out of range) are
quarantined with their values and the reason. The source is only read (SELECT). With **query**
(a SELECT) its rows are read instead of the table's, and **table** names them
(`logs.source` = `postgres://host:port/db/query:<table>`).

Emits `logintel_logs` (which triggers **log_quality** and **log_scoring**) only when rows were
loaded. Without **conn_id** the run skips: set it in the trigger form or as the default below.
"""


@dag(dag_id="log_extract", schedule="@hourly", start_date=START, catchup=False, max_active_runs=1,
     default_args=DEFAULT_ARGS, tags=TAGS + ["ingest", "extract"], doc_md=DOC,
     params={
         "conn_id": Param("", type="string", title="Source connection",
                          description="Airflow connection id of the source PostgreSQL database (empty: skip)."),
         "table": Param("log_entries", type="string", minLength=1, title="Table",
                        description="TABLE or SCHEMA.TABLE (a view works too)."),
         "query": Param(None, type=["null", "string"], title="Query",
                        description="A SELECT read instead of the table (empty: the table); the table param "
                                    "then names its rows."),
         "preset": Param("log_entries", type=["null", "string"], enum=[None, "log_entries"], title="Column preset"),
         "key": Param("id", type="string", minLength=1, title="Key column",
                      description="A monotonic integer column: the watermark."),
         "watermark": Param("key", type="string", enum=["key", "ts"], title="Watermark",
                            description="key: rows above the largest key read; ts: rows from the largest "
                                        "timestamp read minus the look-back (late rows)."),
         "lookback_minutes": Param(0, type="integer", minimum=0, maximum=10_080, title="Look-back (minutes)"),
         "chunk_rows": Param(50_000, type="integer", minimum=1, maximum=5_000_000, title="Rows per chunk"),
     })
def log_extract():
    @task
    def prepare_database() -> dict:
        from logintel.airflow import tasks

        return tasks.prepare_database()

    @task(outlets=[LOGS])
    def extract_rows() -> dict:
        from logintel.airflow import tasks

        p = get_current_context()["params"]
        result = tasks.extract_table(p["conn_id"], p["table"], p.get("preset"), p["key"], int(p["chunk_rows"]),
                                     p["watermark"], int(p["lookback_minutes"]), p.get("query") or None)
        tasks.skip_unless_changed(result["loaded"], "no new rows were loaded")
        return result

    prepare_database() >> extract_rows()


log_extract()
