"""The README's main command, end to end on a copy of the project."""

from __future__ import annotations

import pytest

from testkit import VENV_BIN, run

pytestmark = pytest.mark.slow


def test_main_job_runs_the_whole_loop(pipeline_project):
    repo, _ = pipeline_project
    out = run(repo, f"{VENV_BIN}/gitml", "demo").stdout
    assert "roc_auc" in out
    assert "## gitml model report" in out and "| train.random_forest.n_estimators | `200` | `50` |" in out
    assert (repo / "reports/pr-comment.md").read_text().startswith("## gitml model report")
    assert "released model v0.1.0" in out and "released model v0.2.0" in out
    assert "model: latest v0.2.0 (2 versions); prod=v0.2.0, staging=v0.2.0" in out
    assert (repo / ".gitml/sandbox/clone/.gitml/model-prod.joblib").stat().st_size > 1000
    assert "## 🧪 Experiments for #1: ✅ done" in out and "3 of 3 variant(s)" in out and "🏆" in out
    assert "Drift on unshifted traffic: ok" in out and "# Drift detected: model" in out
