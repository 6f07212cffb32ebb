"""Interop: gto and `dvc artifacts get` read what gitml writes; gitml reads what `gto register/assign` write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitml.registry import api, release

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(not (BIN / "gto").exists(), reason="gto is not installed (pip install gto)")


def tool(project, *argv: str) -> str:
    proc = subprocess.run([str(BIN / argv[0]), *argv[1:]], cwd=project.repo, text=True, capture_output=True,
                          env={**os.environ, "GTO_LOG_LEVEL": "ERROR"})
    assert proc.returncode == 0, f"{argv}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_gto_and_dvc_read_gitml_tags(project) -> None:
    c1, c2, _ = project.commits()
    api.register(project.repo, "model", rev=c1, check_remote=False)
    api.register(project.repo, "model", rev=c2, check_remote=False)
    api.promote(project.repo, "model", "v0.1.0", "dev")
    api.promote(project.repo, "model", "v0.2.0", "staging")
    api.promote(project.repo, "model", "v0.2.0", "prod")
    summary = json.loads(tool(project, "gto", "show", "--json"))
    assert summary["model"]["version"] == "v0.2.0"
    assert summary["model"]["stage"] == {"dev": "v0.1.0", "staging": "v0.2.0", "prod": "v0.2.0"}
    assert summary["model"]["stage"] == api.list_artifacts(project.repo)["artifacts"][0]["stages"]
    versions = json.loads(tool(project, "gto", "show", "model", "--json"))
    assert {v["version"]: v["registrations"][0]["tag"] for v in versions} == {"v0.1.0": "model@v0.1.0", "v0.2.0": "model@v0.2.0"}
    # `dvc artifacts get` resolves our stage tags (through GTO) and downloads from the DVC remote
    out = project.base / "from-dvc.bin"
    tool(project, "dvc", "artifacts", "get", str(project.repo), "model", "--stage", "prod", "-o", str(out))
    assert out.read_text() == "model trained with seed 2\n"


def test_gitml_reads_gto_tags(project) -> None:
    c1, c2, c3 = project.commits()
    tool(project, "gto", "register", "model", c1, "--version", "v1.0.0")
    tool(project, "gto", "register", "model", c2, "--bump-minor")
    tool(project, "gto", "assign", "model", "--version", "v1.0.0", "--stage", "dev")
    tool(project, "gto", "assign", "model", "--version", "v1.1.0", "--stage", "staging")
    listed = api.list_artifacts(project.repo)["artifacts"][0]
    assert listed["latest"] == "v1.1.0" and listed["stages"] == {"dev": "v1.0.0", "staging": "v1.1.0"}
    shown = api.show(project.repo, "model")
    assert [(v["version"], v["commit"], v["provenance"]) for v in shown["versions"]] == [("v1.1.0", c2, False), ("v1.0.0", c1, False)]
    assert api.which(project.repo, "model", "staging") == "v1.1.0"
    # gitml continues the counters gto started, and gto agrees with the result
    assert api.promote(project.repo, "model", "v1.1.0", "prod").tag == "model#prod#3"
    assert json.loads(tool(project, "gto", "show", "--json"))["model"]["stage"]["prod"] == "v1.1.0"
    # the release compares with a gto-registered version through that commit's dvc.lock
    changed, unchanged = release.changed_artifacts(project.repo, c3)
    assert changed == [] and unchanged[0]["reason"] == "model unchanged since v1.1.0"
