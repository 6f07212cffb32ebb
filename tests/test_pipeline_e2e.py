"""The example pipeline end to end with real git, real DVC and a real local remote."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from testkit import VENV_BIN, run, set_remote

GITML = f"{VENV_BIN}/gitml"
pytestmark = pytest.mark.slow


def repro_json(repo: Path, *extra: str) -> dict:
    proc = run(repo, GITML, "repro", "--json", *extra)
    return json.loads(proc.stdout)


def fates(result: dict) -> dict[str, str]:
    return {s["name"]: s["status"] for s in result["stages"]}


def set_param(repo: Path, section: str, key: str, value) -> None:
    path = repo / "params.yaml"
    data = yaml.safe_load(path.read_text())
    node = data
    for part in section.split("."):
        node = node[part]
    node[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def tree_digest(repo: Path, *rels: str) -> dict[str, str]:
    out = {}
    for rel in rels:
        p = repo / rel
        for f in sorted([p] if p.is_file() else p.rglob("*")):
            if f.is_file():
                out[str(f.relative_to(repo))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def test_pipeline_metrics_are_sane(pipeline_project):
    repo, _ = pipeline_project
    metrics = json.loads((repo / "reports/metrics.json").read_text())
    assert set(metrics) == {"accuracy", "precision", "recall", "f1", "roc_auc", "average_precision", "log_loss"}
    assert metrics["roc_auc"] > 0.95 and metrics["accuracy"] > 0.9
    plots = json.loads((repo / "reports/plots/roc.json").read_text())["roc"]
    assert plots[0]["fpr"] == 0 and plots[-1]["tpr"] == 1
    assert {p.name for p in (repo / "reports/figures").iterdir()} == {"roc.png", "prc.png", "confusion.png", "importance.png"}
    header = (repo / "reports/plots/confusion.csv").read_text().splitlines()[0]
    assert header == "actual,predicted"


def test_second_repro_runs_nothing_and_a_train_param_reruns_train_and_evaluate(pipeline_project):
    repo, _ = pipeline_project
    assert set(fates(repro_json(repo, "--no-push")).values()) == {"unchanged"}
    set_param(repo, "train.random_forest", "n_estimators", 50)
    result = repro_json(repo, "--no-push")
    assert fates(result) == {
        "ingest": "unchanged", "prepare": "unchanged", "featurize": "unchanged", "train": "ran", "evaluate": "ran",
    }
    assert all(s["seconds"] >= 0 for s in result["stages"])


def test_same_params_give_identical_metrics_when_retrained(pipeline_project):
    """Train and evaluate again from the same inputs, in this process: the same model bytes and metrics."""
    import joblib
    import pandas as pd

    from pipeline import evaluate, params, train

    repo, _ = pipeline_project
    p = params.load(repo / "params.yaml")
    model = train.train(pd.read_parquet(repo / "data/features.parquet"), joblib.load(repo / "models/featurizer.joblib"),
                        p.train, p.seed)
    again = evaluate.evaluate(model, pd.read_parquet(repo / "data/prepared/test.parquet"), p.evaluate, p.seed)
    assert again.metrics == json.loads((repo / "reports/metrics.json").read_text())
    assert {"importance": again.importance} == json.loads((repo / "reports/importance.json").read_text())


def test_fresh_clone_with_empty_cache_restores_everything_without_running(pipeline_project, tmp_path):
    repo, remote = pipeline_project
    clone = tmp_path / "clone"
    run(tmp_path, "git", "clone", "-q", str(repo), str(clone))
    set_remote(clone, remote)
    assert not (clone / ".dvc/cache").exists()
    result = repro_json(clone, "--no-push")
    assert set(fates(result).values()) == {"restored"}, result
    assert json.loads((clone / "reports/metrics.json").read_text()) == json.loads((repo / "reports/metrics.json").read_text())


def test_run_cache_restores_a_param_change_trained_on_another_machine(pipeline_project, tmp_path):
    """Machine A trains a new param and pushes its run cache; machine B, with the same
    uncommitted param change and an empty cache, restores train and evaluate instead of training."""
    repo, remote = pipeline_project
    set_param(repo, "train.random_forest", "max_depth", 3)
    assert fates(repro_json(repo))["train"] == "ran"  # pushes outputs and the run cache
    expected = (repo / "reports/metrics.json").read_text()

    clone = tmp_path / "machine-b"
    run(tmp_path, "git", "clone", "-q", str(repo), str(clone))  # dvc.lock at HEAD: the old params
    set_remote(clone, remote)
    set_param(clone, "train.random_forest", "max_depth", 3)
    proc = run(clone, GITML, "repro", "--json", "--no-push")
    result = json.loads(proc.stdout)
    assert fates(result)["train"] == "restored" and fates(result)["evaluate"] == "restored"
    assert "ran" not in fates(result).values()
    assert "train: random_forest" not in proc.stderr, "the training command must not run"
    assert (clone / "reports/metrics.json").read_text() == expected


def test_params_error_stops_before_any_stage_and_keeps_outputs(pipeline_project):
    repo, _ = pipeline_project
    outputs = ("data/prepared", "models", "reports")
    before = tree_digest(repo, *outputs)
    set_param(repo, "train.random_forest", "n_estimators", -5)
    proc = run(repo, GITML, "repro", check=False)
    assert proc.returncode == 1
    assert "train.random_forest.n_estimators = -5 is invalid: expected a number >= 1" in proc.stderr
    assert "Running stage" not in proc.stderr
    assert tree_digest(repo, *outputs) == before


def test_failing_stage_reports_its_error_and_keeps_previous_outputs(pipeline_project):
    repo, _ = pipeline_project
    before = tree_digest(repo, "data/prepared", "models", "reports")
    # A CSV source whose schema wants a column the data lacks: prepare fails.
    (repo / "data/external/data.csv").write_text("a,target\n1,0\n2,1\n")
    (repo / "data/external/schema.yaml").write_text("target: target\ncolumns:\n  - {name: a}\n  - {name: b}\n")
    set_param(repo, "data", "source", "csv")
    proc = run(repo, GITML, "repro", "--no-push", check=False)
    assert proc.returncode == 1
    assert "stage 'prepare' failed: raw data: missing column 'b'" in proc.stderr
    assert tree_digest(repo, "data/prepared", "models", "reports") == before


def test_doctor_passes_on_a_ready_project_and_names_the_fix_otherwise(pipeline_project):
    repo, _ = pipeline_project
    ok = json.loads(run(repo, GITML, "doctor", "--json").stdout)
    assert ok["ok"] and {c["name"]: c["status"] for c in ok["checks"]} == {
        "git": "ok", "dvc": "ok", "params": "ok", "remote": "ok", "pipeline": "ok",
    }
    set_param(repo, "split", "test_size", 2)
    (repo / ".dvc/config.local").write_text("['remote \"local\"']\n    url = /proc/not-writable\n")
    proc = run(repo, GITML, "doctor", check=False)
    assert proc.returncode == 1
    assert "FAIL params: params.yaml: split.test_size = 2 is invalid" in proc.stdout
    assert "FAIL remote: remote 'local' at /proc/not-writable is not writable" in proc.stdout
    assert "fix:" in proc.stdout


def test_every_data_version_can_be_recalled_for_its_commit(pipeline_project, tmp_path):
    repo, remote = pipeline_project
    first_lock = yaml.safe_load((repo / "dvc.lock").read_text())
    set_param(repo, "data", "source", "synthetic")
    set_param(repo, "data.synthetic", "n_samples", 300)
    run(repo, f"{VENV_BIN}/dvc", "repro", "ingest")  # only the data version moves
    run(repo, f"{VENV_BIN}/dvc", "push", "-q", "data/raw.parquet")
    run(repo, "git", "commit", "-qam", "synthetic data")

    for rev, lock in (("HEAD~1", first_lock), ("HEAD", yaml.safe_load((repo / "dvc.lock").read_text()))):
        clone = tmp_path / rev  # an empty machine for each commit
        run(tmp_path, "git", "clone", "-q", str(repo), str(clone))
        set_remote(clone, remote)
        run(clone, "git", "checkout", "-q", rev)
        run(clone, f"{VENV_BIN}/dvc", "pull", "-q", "data/raw.parquet")
        expected = lock["stages"]["ingest"]["outs"][0]["md5"]
        assert hashlib.md5((clone / "data/raw.parquet").read_bytes()).hexdigest() == expected
    assert first_lock["stages"]["ingest"]["outs"][0]["md5"] != expected, "the two commits hold different data"
