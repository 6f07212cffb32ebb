"""The example project's deploy command: a working model is installed whole; a broken one is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from testkit import PROJECT_ROOT


def deploy(tmp_path, artifact_path, version):
    env = {**os.environ, "GITML_ARTIFACT": "model", "GITML_VERSION": version, "GITML_STAGE": "prod",
           "GITML_COMMIT": "abc123", "GITML_ARTIFACT_PATH": str(artifact_path)}
    return subprocess.run([sys.executable, "-m", "pipeline.deploy", "--dir", str(tmp_path / "deployments")],
                          env=env, capture_output=True, text=True)


def test_deploy_installs_a_working_model_and_refuses_a_broken_one(pipeline_template, tmp_path):
    repo, _ = pipeline_template
    ok = deploy(tmp_path, repo / "models/model.joblib", "v1.0.0")
    assert ok.returncode == 0, ok.stderr
    target = tmp_path / "deployments/model/prod"
    assert (target / "model.joblib").read_bytes() == (repo / "models/model.joblib").read_bytes()
    assert json.loads((target / "release.json").read_text())["model_version"] == "v1.0.0"

    broken = tmp_path / "broken.joblib"
    broken.write_bytes(b"not a model")
    bad = deploy(tmp_path, broken, "v2.0.0")
    assert bad.returncode == 1 and "is not a working model" in bad.stderr
    assert json.loads((target / "release.json").read_text())["model_version"] == "v1.0.0"
    assert (target / "model.joblib").read_bytes() == (repo / "models/model.joblib").read_bytes()


def test_deploy_outside_the_registry_says_how_to_run_it():
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITML_")}
    proc = subprocess.run([sys.executable, "-m", "pipeline.deploy"], env=env, capture_output=True, text=True,
                          cwd=PROJECT_ROOT)
    assert proc.returncode == 1 and "run this through `gitml registry deploy`" in proc.stderr
