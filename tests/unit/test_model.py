"""Level/anomaly model: training, out-of-group probabilities, prediction, artifacts."""
import numpy as np
import pandas as pd
import pytest

from logintel import model

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
    df = model.add_bucket_columns(make_frame())
    bundle, metrics = model.train(df, seed=0)
    return df, bundle, metrics


def test_levels_come_from_levels_module():
    from logintel import levels
    assert model.LEVELS == levels.LEVELS


def test_add_bucket_columns():
    df = pd.DataFrame({
        "ts": pd.to_datetime(["2024-01-01T00:00:01Z", "2024-01-01T00:04:59Z", "2024-01-01T00:05:00Z",
                              "2024-01-01T00:01:00Z"]),
        "service": ["a", "a", "a", "b"], "level": ["INFO", "ERROR", "WARN", "FATAL"], "message": ["x"] * 4})
    out = model.add_bucket_columns(df)
    assert out["bucket_total"].tolist() == [2, 2, 1, 1]
    assert out["bucket_error"].tolist() == [1, 1, 0, 1]
    assert out["bucket_warn"].tolist() == [0, 0, 1, 0]
    assert out["svc_rate_total"].tolist() == [1.5, 1.5, 1.5, 1.0]
    assert out["svc_rate_error"].tolist() == [0.5, 0.5, 0.5, 1.0]


def test_train_metrics(trained):
    df, bundle, metrics = trained
    assert metrics["training_rows"] == len(df)
    assert metrics["n_templates"] == len(TEMPLATES)
    assert 0 <= metrics["level"]["macro_f1"] <= 1
    assert set(metrics["level"]["per_level"]) <= set(model.LEVELS)
    assert metrics["anomaly"]["mode"] == "supervised"
    assert metrics["anomaly"]["auc"] > 0.8


def test_predict_shape_and_ranges(trained):
    df, bundle, _ = trained
    pred = model.predict(bundle, df)
    assert list(pred.index) == list(df.index)
    cols = ["template_key", "predicted_level", "confidence", *model.PROB_COLUMNS, "anomaly_score",
            "predicted_anomaly"]
    assert all(c in pred.columns for c in cols)
    probs = pred[list(model.PROB_COLUMNS)].to_numpy()
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    assert ((pred["confidence"] >= 0) & (pred["confidence"] <= 1)).all()
    assert ((pred["anomaly_score"] >= 0) & (pred["anomaly_score"] <= 1)).all()
    assert set(pred["predicted_level"]) <= set(model.LEVELS)
    assert pred["predicted_anomaly"].dtype == bool


def test_probabilities_are_out_of_group(trained):
    """A template's stored probabilities come from a model that never saw it: relabelling all
    its lines changes nothing about its own probabilities."""
    df, bundle, _ = trained
    key = model.template_keys(["Out of memory: killed process 1 (postgres 2)"])[0]
    i = bundle.pair_index[(key, "db")]
    df2 = df.copy()
    mask = model.predict(bundle, df)["template_key"].eq(key).to_numpy()
    df2.loc[mask, "level"] = "DEBUG"
    b2, _ = model.train(df2, seed=0)
    assert np.allclose(b2.oog_probs[b2.pair_index[(key, "db")]], bundle.oog_probs[i], atol=0.05)


def test_unseen_template_and_service(trained):
    df, bundle, _ = trained
    new = df.head(3).copy()
    new["message"] = ["Kernel panic: fatal error, system halted", "Kernel panic: fatal error, system halted",
                      "completely new words 5"]
    new["service"] = ["api", "nowhere", "api"]
    pred = model.predict(bundle, new)
    assert len(pred) == 3
    assert pred.loc[new.index[0], "p_FATAL"] + pred.loc[new.index[0], "p_ERROR"] > 0.3


def test_template_probabilities(trained):
    df, bundle, _ = trained
    keys = model.predict(bundle, df)["template_key"].unique()
    frame = pd.DataFrame({"template_key": keys, "service": "api"})
    tp = model.template_probabilities(bundle, frame)
    assert list(tp.columns[:6]) == ["template_key", *model.PROB_COLUMNS]
    assert len(tp) == len(keys)


def test_no_flags_falls_back_to_unsupervised():
    df = model.add_bucket_columns(make_frame(800, anomalies=False))
    df["is_anomaly"] = pd.array([pd.NA] * len(df), dtype="boolean")
    bundle, metrics = model.train(df)
    assert metrics["anomaly"]["mode"] == "unsupervised"
    pred = model.predict(bundle, df.drop(columns=["bucket_total"]))  # recomputes buckets
    assert not pred["predicted_anomaly"].any()


def test_save_load_roundtrip_and_checksum(tmp_path, trained):
    df, bundle, _ = trained
    path, sha = model.save(bundle, tmp_path, "v1-test")
    assert path.exists() and len(sha) == 64
    loaded = model.load(path, sha)
    a = model.predict(bundle, df.head(50))
    b = model.predict(loaded, df.head(50))
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(model.ArtifactError, match=str(path.name)):
        model.load(path, "0" * 64)
    with pytest.raises(model.ArtifactError, match="missing"):
        model.load(tmp_path / "nope.joblib", sha)


def test_empty_predict(trained):
    _, bundle, _ = trained
    pred = model.predict(bundle, make_frame(5).iloc[0:0])
    assert len(pred) == 0 and "anomaly_score" in pred.columns
