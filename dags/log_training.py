"""log_training: train the level and anomaly models, promote if not worse."""
from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from logintel.airflow.defaults import DEFAULT_ARGS, START, TAGS
from logintel.airflow.assets import MODELS

DOC = """
### Train the models
Weekly or on demand. Trains the level classifier on masked message templates (with
out-of-group probabilities per template, so the model never vouches for labels it was
trained on) and the anomaly model, evaluates both on held-out data, saves the artifact
with joblib and its sha256, and records the version in `logintel.model_versions`.
The new version becomes champion only if its held-out macro F1 is not worse than the
champion's. Training twice on the same data registers nothing new.
"""


@dag(dag_id="log_training", schedule="@weekly", start_date=START, catchup=False, max_active_runs=1,
     default_args=DEFAULT_ARGS, tags=TAGS + ["ml"], doc_md=DOC,
     params={"seed": Param(0, type="integer", minimum=0, title="Random seed")})
def log_training():
    @task(outlets=[MODELS])
    def train_models() -> dict:
        from logintel.airflow import tasks

        tasks.prepare_database()
        return tasks.train_models(int(get_current_context()["params"]["seed"]))

    train_models()


log_training()
