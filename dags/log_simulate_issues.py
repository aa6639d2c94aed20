"""log_simulate_issues: inject classic production problems into stored logs (for demos and tests)."""
from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from logintel.airflow.defaults import DEFAULT_ARGS, START, TAGS

DOC = """
### Simulate production issues
Manual only. Injects, into stored logs, the problems Logintel must find, and keeps the
truth in `logintel.injected_issues` so the findings can be scored:
ERROR shown as INFO (a quarter as WARN), WARN as DEBUG, FATAL as DEBUG (**reference**),
one step down (**adjacent**), or every line of chosen templates demoted (**callsite**);
and a share of anomaly flags cleared. The same scheme, rate and seed never inject twice.
**Batch**: empty = all stored logs; `latest` = only the logs of the newest ingest batch
(issues in logs that arrived after the model was trained); or an ingest batch id.
"""


@dag(dag_id="log_simulate_issues", schedule=None, start_date=START, catchup=False, max_active_runs=1,
     default_args=DEFAULT_ARGS, tags=TAGS + ["simulation"], doc_md=DOC,
     params={
         "rate": Param(0.03, type="number", minimum=0.0, maximum=0.5, title="Rate",
                       description="Share of all lines whose level is corrupted."),
         "scheme": Param("reference", type="string", enum=["reference", "adjacent", "callsite"], title="Scheme"),
         "seed": Param(1, type="integer", minimum=0, title="Seed"),
         "batch": Param("", type="string", pattern=r"^(|latest|[0-9]+)$", title="Batch",
                        description="Empty: all logs; 'latest': the newest ingest batch; or a batch id."),
     })
def log_simulate_issues():
    @task
    def inject() -> dict:
        from logintel.airflow import tasks

        p = get_current_context()["params"]
        tasks.prepare_database()
        return tasks.simulate_issues(float(p["rate"]), str(p["scheme"]), int(p["seed"]), str(p.get("batch") or "") or None)

    inject()


log_simulate_issues()
