"""Level/anomaly model: training, out-of-group probabilities, prediction, artifacts."""
import numpy as np
import pandas as pd
import pytest

from support.buckets import add_bucket_columns

from logintel import ml
from logintel.ml.anomaly_model import AnomalyModel
from logintel.ml.features import ANOMALY_FEATURES
from logintel.ml.level_model import LevelModel

TEMPLATES = [
    ("api", "INFO", "Request {} served in {} ms"),
    ("api", "INFO", "User {} logged in from 10.0.{}.1"),
    ("api", "DEBUG", "Cache hit for key user:{} shard {}"),
    ("api", "WARN", "Slow response from upstream db: {} ms for request {}"),
    ("api", "ERROR", "Database connection failed to 10.1.{}.{}: connection refused"),
    ("api", "ERROR", "Unhandled exception in handler {}: KeyError {}"),
    ("db", "INFO", "Checkpoint {} completed in {} ms"),
    ("db", "DEBUG", "Executed query {} in {} ms"),
    ("db", "WARN", "Retrying replication to replica {} attempt {}"),
    ("db", "ERROR", "Replication to replica {} failed: timeout after {} ms"),
    ("db", "FATAL", "Out of memory: killed process {} (postgres {})"),
    ("db", "INFO", "Vacuum of table t{} finished, {} rows removed"),
]


def make_frame(n=3000, seed=0, anomalies=True):
    rng = np.random.default_rng(seed)
    w = np.array([30, 20, 25, 6, 3, 2, 20, 25, 5, 3, 1, 10], dtype=float)
    pick = rng.choice(len(TEMPLATES), size=n, p=w / w.sum())
    ts = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.sort(rng.integers(0, 86400, n)), unit="s")
    rows = []
    for i, (t, when) in enumerate(zip(pick, ts)):
        svc, lvl, fmt = TEMPLATES[t]
        rows.append({"id": i + 1, "ts": when, "service": svc, "level": lvl,
                     "message": fmt.format(int(rng.integers(0, 999)), int(rng.integers(0, 250)))})
    df = pd.DataFrame(rows)
    flag = np.zeros(n, dtype=bool)
    if anomalies:
        flag = df["level"].isin(["ERROR", "FATAL"]).to_numpy() & (df["ts"].dt.hour.to_numpy() == 3)
        flag |= df["level"].eq("FATAL").to_numpy()
    df["is_anomaly"] = pd.array(flag, dtype="boolean")
    return df


@pytest.fixture(scope="module")
def trained():
    df = add_bucket_columns(make_frame())
    bundle, metrics = ml.train(df, seed=0)
    return df, bundle, metrics


def test_levels_come_from_levels_module():
    from logintel import levels
    assert ml.LEVELS == levels.LEVELS


def test_train_metrics(trained):
    df, bundle, metrics = trained
    assert metrics["training_rows"] == len(df)
    assert metrics["n_templates"] == len(TEMPLATES)
    assert 0 <= metrics["level"]["macro_f1"] <= 1
    assert set(metrics["level"]["per_level"]) <= set(ml.LEVELS)
    assert metrics["anomaly"]["mode"] == "supervised"
    assert metrics["anomaly"]["auc"] > 0.8


def test_predict_shape_and_ranges(trained):
    df, bundle, _ = trained
    pred = ml.predict(bundle, df)
    assert list(pred.index) == list(df.index)
    cols = ["template_key", "predicted_level", "confidence", *ml.PROB_COLUMNS, "anomaly_score",
            "predicted_anomaly"]
    assert all(c in pred.columns for c in cols)
    probs = pred[list(ml.PROB_COLUMNS)].to_numpy()
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert ((pred["confidence"] >= 0) & (pred["confidence"] <= 1)).all()
    assert ((pred["anomaly_score"] >= 0) & (pred["anomaly_score"] <= 1)).all()
    assert set(pred["predicted_level"]) <= set(ml.LEVELS)
    assert pred["predicted_anomaly"].dtype == bool


def test_probabilities_are_out_of_group(trained):
    """A template's stored probabilities come from a model that never saw it: relabelling all
    its lines changes nothing about its own probabilities."""
    df, bundle, _ = trained
    key = ml.template_keys(["Out of memory: killed process 1 (postgres 2)"])[0]
    i = bundle.templates.index[(key, "db")]
    df2 = df.copy()
    mask = ml.predict(bundle, df)["template_key"].eq(key).to_numpy()
    df2.loc[mask, "level"] = "DEBUG"
    b2, _ = ml.train(df2, seed=0)
    assert np.allclose(b2.level_model.oog_proba_[b2.templates.index[(key, "db")]], bundle.level_model.oog_proba_[i],
                       atol=0.05)


def test_unseen_template_and_service(trained):
    df, bundle, _ = trained
    new = df.head(3).copy()
    new["message"] = ["Kernel panic: fatal error, system halted", "Kernel panic: fatal error, system halted",
                      "completely new words 5"]
    new["service"] = ["api", "nowhere", "api"]
    pred = ml.predict(bundle, new)
    assert len(pred) == 3
    assert pred.loc[new.index[0], "p_FATAL"] + pred.loc[new.index[0], "p_ERROR"] > 0.3


def test_template_probabilities(trained):
    df, bundle, _ = trained
    keys = ml.predict(bundle, df)["template_key"].unique()
    frame = pd.DataFrame({"template_key": keys, "service": "api"})
    tp = ml.template_probabilities(bundle, frame)
    assert list(tp.columns[:6]) == ["template_key", *ml.PROB_COLUMNS]
    assert len(tp) == len(keys)


def test_no_flags_falls_back_to_unsupervised():
    df = add_bucket_columns(make_frame(800, anomalies=False))
    df["is_anomaly"] = pd.array([pd.NA] * len(df), dtype="boolean")
    bundle, metrics = ml.train(df)
    assert metrics["anomaly"]["mode"] == "unsupervised"
    pred = ml.predict(bundle, df)
    assert not pred["predicted_anomaly"].any()
    with pytest.raises(ValueError, match="bucket_total"):  # buckets come from SQL, not recomputed
        ml.predict(bundle, df.drop(columns=["bucket_total"]))


def test_save_load_roundtrip_and_checksum(tmp_path, trained):
    df, bundle, _ = trained
    path, sha = ml.save(bundle, tmp_path, "v1-test")
    assert path.exists() and len(sha) == 64
    loaded = ml.load(path, sha)
    a = ml.predict(bundle, df.head(50))
    b = ml.predict(loaded, df.head(50))
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ml.ArtifactError, match=str(path.name)):
        ml.load(path, "0" * 64)
    with pytest.raises(ml.ArtifactError, match="missing"):
        ml.load(tmp_path / "nope.joblib", sha)


def test_empty_predict(trained):
    _, bundle, _ = trained
    pred = ml.predict(bundle, make_frame(5).iloc[0:0])
    assert len(pred) == 0 and "anomaly_score" in pred.columns


# ----------------------------------------------------------------------------- estimators, artifacts

def _level_fit_data():
    df = make_frame(600, seed=1)
    pairs = (df.assign(template_key=ml.template_keys(df["message"].tolist()))
             .drop_duplicates(["template_key", "service"]))
    return pairs[["template_key", "service"]].reset_index(drop=True), pairs["level"].to_numpy()


def _anomaly_fit_data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, len(ANOMALY_FEATURES))).astype(np.float32), columns=list(ANOMALY_FEATURES))
    y = (X["log_err_ratio"] + 0.3 * rng.normal(size=len(X)) > 1.0).to_numpy().astype(np.int8)
    return X, y, np.arange(1000, 1000 + len(X))


@pytest.mark.parametrize("make, data", [
    (lambda: LevelModel(C=1.5, oog_folds=3, random_state=2), _level_fit_data),
    (lambda: AnomalyModel(max_iter=20, n_folds=3, random_state=3), _anomaly_fit_data),
])
def test_estimators_follow_sklearn_conventions(make, data):
    import inspect

    from sklearn.base import clone
    from sklearn.utils.validation import check_is_fitted

    est = make()
    params = est.get_params()
    init_params = set(inspect.signature(type(est).__init__).parameters) - {"self"}
    assert set(params) == init_params
    assert params["random_state"] == make().random_state  # stored unmodified
    copy = clone(est)
    assert copy is not est and copy.get_params() == params
    X, y, *ids = data()
    kwargs = {"ids": ids[0]} if ids else {}
    assert est.fit(X, y, **kwargs) is est
    check_is_fitted(est)
    learned = set(vars(est)) - init_params
    assert learned and all(a.endswith("_") for a in learned)
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), len(est.classes_)) and np.allclose(proba.sum(1), 1.0)
    assert len(est.predict(X)) == len(X)
    assert not hasattr(clone(est), "classes_")  # a clone is unfitted


def test_level_model_alone():
    X, y = _level_fit_data()
    lm = LevelModel(random_state=0).fit(X, y)
    assert lm.oog_proba_.shape == (len(X), len(ml.LEVELS))
    assert set(lm.predict(X)) <= set(ml.LEVELS)
    assert 0 <= lm.score(X, y) <= 1


def test_anomaly_model_alone():
    X, y, ids = _anomaly_fit_data()
    am = AnomalyModel(random_state=0).fit(X, y, ids=ids)
    assert am.mode_ == "supervised" and 0.5 <= am.threshold_ <= 1
    assert 0 <= am.false_anomaly_below_ <= 0.02
    # the rows it was fitted on are judged by their out-of-fold score
    s = am.score_samples(X, ids)
    assert np.array_equal(s[np.argsort(ids)], am.oof_scores_.astype(np.float64))
    assert not np.array_equal(s, am.score_samples(X))
    unsup = AnomalyModel().fit(X, np.zeros(len(X), dtype=np.int8))
    assert unsup.mode_ == "unsupervised" and unsup.threshold_ == 0.995


def test_load_rejects_another_format(tmp_path, trained):
    import dataclasses

    _, bundle, _ = trained
    other = dataclasses.replace(bundle, format=ml.BUNDLE_FORMAT + 1)
    path, sha = ml.save(other, tmp_path, "v-other")
    with pytest.raises(ml.ArtifactError, match=rf"{path.name} has format {ml.BUNDLE_FORMAT + 1}, "
                                               rf"expected format {ml.BUNDLE_FORMAT}: retrain"):
        ml.load(path, sha)


def test_load_rejects_a_format_1_artifact(tmp_path, monkeypatch):
    """An artifact pickled by the old logintel.model (a module that no longer exists)."""
    import dataclasses
    import sys
    import types

    import joblib

    from logintel.hashing import file_sha256

    old = types.ModuleType("logintel.model")

    @dataclasses.dataclass
    class ModelBundle:
        version: str = "v0"

    ModelBundle.__module__, ModelBundle.__qualname__ = "logintel.model", "ModelBundle"
    old.ModelBundle = ModelBundle
    monkeypatch.setitem(sys.modules, "logintel.model", old)
    path = tmp_path / "logintel-model-v0.joblib"
    joblib.dump(ModelBundle(), path)
    monkeypatch.delitem(sys.modules, "logintel.model")
    with pytest.raises(ml.ArtifactError, match=rf"{path.name} has format 1 .*expected format {ml.BUNDLE_FORMAT}: "
                                               r"retrain with `logintel train`"):
        ml.load(path, file_sha256(path))


def test_package_imports_without_sklearn():
    import subprocess
    import sys

    code = "import sys, logintel.ml; print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
