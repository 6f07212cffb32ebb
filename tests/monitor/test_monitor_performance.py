"""Live performance: labels joined to the prediction log, per version, against the offline evaluation in the registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest

from gitml.cli import main
from gitml.serve.predlog import PredictionLog


def _log_test_split(served: Any, log: Path) -> pd.DataFrame:
    """Score the test split through the prediction log, as the server would, in batches of 10 rows; return the labels."""
    model = joblib.load(served.repo / "models" / "model.joblib")
    test = pd.read_parquet(served.repo / "data" / "prepared" / "test.parquet")
    labels = []
    with PredictionLog(log) as plog:
        for start in range(0, len(test), 10):
            part = test.iloc[start:start + 10]
            proba = model.predict_proba(part.drop(columns="target"))
            version = "v1.0.0" if start < 60 else "v1.1.0"
            plog.log(f"req-{start}", "model", version, part.drop(columns="target"), proba.argmax(axis=1).tolist(), proba)
            labels += [{"request_id": f"req-{start}", "row": i, "label": int(y)} for i, y in enumerate(part["target"])]
    return pd.DataFrame(labels)


def test_live_metrics_per_version_match_the_offline_evaluation(served: Any, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "predictions.jsonl"
    labels = _log_test_split(served, log)
    labels_file = tmp_path / "labels.csv"
    labels.to_csv(labels_file, index=False)
    out = tmp_path / "out"
    assert main(["monitor", "performance", "model", "-C", str(served.repo), "--labels", str(labels_file), "--log", str(log),
                 "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["labelled_rows"] == len(labels) and result["unmatched_labels"] == 0
    assert [v["version"] for v in result["versions"]] == ["v1.0.0", "v1.1.0"]
    assert sum(v["rows"] for v in result["versions"]) == len(labels)
    assert not result["breach"]
    offline = json.loads((served.repo / "reports" / "metrics.json").read_text())
    # all rows together are exactly the offline test set: recompute over both versions' rows
    both = pd.concat([pd.DataFrame(v["skew"]).assign(version=v["version"]) for v in result["versions"]])
    assert set(both["metric"]) >= {"accuracy", "f1", "roc_auc", "log_loss"}
    assert both.set_index(["version", "metric"])["offline"].loc[("v1.0.0", "roc_auc")] == pytest.approx(offline["roc_auc"], abs=1e-6)
    assert "## Live performance: model" in (out / "performance.md").read_text()


def test_wrong_live_labels_are_production_skew(served: Any, tmp_path: Path) -> None:
    log = tmp_path / "predictions.jsonl"
    labels = _log_test_split(served, log)
    labels["label"] = 1 - labels["label"]  # the world disagrees with the model
    labels_file = tmp_path / "labels.jsonl"
    labels.to_json(labels_file, orient="records", lines=True)
    code = main(["monitor", "performance", "model", "-C", str(served.repo), "--labels", str(labels_file), "--log", str(log),
                 "--out", str(tmp_path / "out"), "--fail-on-breach"])
    assert code == 1
    result = json.loads((tmp_path / "out" / "performance.json").read_text())
    v1 = next(v for v in result["versions"] if v["version"] == "v1.0.0")
    assert any(s["metric"] == "accuracy" and s["breach"] for s in v1["skew"])
    assert any(s["metric"] == "log_loss" and s["breach"] and s["worse_by"] > 0 for s in v1["skew"])
