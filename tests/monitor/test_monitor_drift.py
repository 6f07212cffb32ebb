"""Drift: a half-standard-deviation mean shift in one feature is flagged on that feature only; an unshifted sample is not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from gitml.cli import main
from gitml.monitor import checks
from gitml.monitor.drift import feature_drift, ks_2samp, psi_numeric
from gitml.serve.predlog import PredictionLog


def test_ks_matches_scipy_and_psi_is_zero_for_identical_samples() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=700), rng.normal(0.2, 1.0, size=900)
    ref = stats.ks_2samp(a, b, method="asymp")
    d, p = ks_2samp(a, b)
    assert d == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue, rel=1e-6)
    assert psi_numeric(a, a) == pytest.approx(0.0, abs=1e-12)


def test_synthetic_half_sd_shift_flags_that_feature_only() -> None:
    rng = np.random.default_rng(7)
    names = [f"x{i}" for i in range(30)]
    reference = pd.DataFrame(rng.normal(size=(5000, 30)) * rng.uniform(0.5, 5, 30), columns=names)
    same = pd.DataFrame(rng.normal(size=(5000, 30)) * reference.std().to_numpy(), columns=names)
    shifted = same.copy()
    shifted["x12"] += 0.5 * reference["x12"].std()
    features = [(n, "float") for n in names]
    assert [f.name for f in feature_drift(reference, same, features) if f.drifted] == []
    drifted = [f for f in feature_drift(reference, shifted, features) if f.drifted]
    assert [f.name for f in drifted] == ["x12"]
    assert drifted[0].psi >= 0.2 or drifted[0].ks_statistic >= 0.1


def _sample(served: Any, shift: str | None) -> pd.DataFrame:
    train = pd.read_parquet(served.repo / "data" / "prepared" / "train.parquet").drop(columns="target")
    sample = train.sample(n=len(train), replace=True, random_state=3).reset_index(drop=True)
    if shift:
        sample[shift] += 0.5 * train[shift].std()
    return sample


def test_drift_cli_on_the_production_versions_training_data(served: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same, shifted = tmp_path / "same.parquet", tmp_path / "shifted.parquet"
    _sample(served, None).to_parquet(same)
    _sample(served, "mean_texture").to_parquet(shifted)
    out = tmp_path / "report"
    assert main(["monitor", "drift", "model", "-C", str(served.repo), "--data", str(same), "--out", str(out), "--json"]) == 0
    calm = json.loads(capsys.readouterr().out)
    assert calm["model_version"] == "v1.0.0" and calm["stage"] == "prod"
    assert calm["drifted_features"] == [] and not calm["breach"], calm["summary"]
    code = main(["monitor", "drift", "model", "-C", str(served.repo), "--data", str(shifted), "--out", str(out),
                 "--fail-on-breach"])
    text = capsys.readouterr().out
    assert code == 1 and "BREACH" in text
    result = json.loads((out / "drift.json").read_text())
    assert result["drifted_features"] == ["mean_texture"]
    assert [q for q in result["quality"] if q["breach"]] == []
    md = (out / "drift.md").read_text()
    assert "`mean_texture`" in md and "**yes**" in md
    assert (out / "figures" / "mean_texture.png").stat().st_size > 1000
    assert (out / "figures" / "predicted_score.png").exists()


def test_drift_from_the_prediction_log(served: Any, tmp_path: Path) -> None:
    model = joblib.load(served.repo / "models" / "model.joblib")
    log = tmp_path / "log" / "predictions.jsonl"
    with PredictionLog(log, max_bytes=50_000, backups=20) as plog:
        frame = _sample(served, "worst_area")
        for start in range(0, len(frame), 25):
            part = frame.iloc[start:start + 25]
            proba = model.predict_proba(part)
            plog.log(f"req{start}", "model", "v1.0.0", part, proba.argmax(axis=1).tolist(), proba)
    result = checks.drift(served.repo, "model", log=str(log), out_dir=tmp_path / "out", figures=False)
    assert result["current"]["rows"] == len(frame) and result["current"]["versions"] == {"v1.0.0": len(frame)}
    assert result["drifted_features"] == ["worst_area"] and result["breach"]
