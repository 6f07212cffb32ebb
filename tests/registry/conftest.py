"""Fixtures for registry tests: a small real project (git + DVC + a local DVC remote + a bare origin).

The template is built once per session; each test gets a private copy (`project`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

VENV_BIN = str(Path(sys.executable).parent)

TRAIN = """\
import json, pathlib, yaml
seed = yaml.safe_load(open("params.yaml"))["seed"]
pathlib.Path("models").mkdir(exist_ok=True)
pathlib.Path("reports").mkdir(exist_ok=True)
pathlib.Path("models/model.bin").write_text(f"model trained with seed {seed}\\n")
json.dump({"accuracy": 0.8 + seed / 100, "f1": 0.7 + seed / 50}, open("reports/metrics.json", "w"))
"""

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [seed]
    outs: [models/model.bin]
    metrics: [reports/metrics.json]
artifacts:
  model:
    path: models/model.bin
    type: model
    desc: A tiny test model
"""

PYPROJECT = """\
[tool.gitml]
metrics = "reports/metrics.json"

[tool.gitml.registry]
stages = ["dev", "staging", "prod"]
order = { prod = ["staging"] }
deploy = "cp \\"$GITML_ARTIFACT_PATH\\" deployed-$GITML_STAGE.bin && echo deployed $GITML_VERSION"
"""


def make_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(home),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test User",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test User",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "DVC_NO_ANALYTICS": "1",
        "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
    }


def sh(cwd: Path, *argv: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), cwd=cwd, env=env, text=True, capture_output=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{argv} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


@dataclass
class Project:
    base: Path

    @property
    def repo(self) -> Path:
        return self.base / "work"

    @property
    def origin(self) -> Path:
        return self.base / "origin.git"

    @property
    def remote(self) -> Path:
        return self.base / "dvcremote"

    def git(self, *args: str, check: bool = True) -> str:
        return sh(self.repo, "git", *args, check=check).stdout.strip()

    def commits(self) -> list[str]:
        """The main branch's commits, oldest first."""
        return self.git("rev-list", "--reverse", "main").split()


def _build_template(base: Path) -> None:
    env = make_env(base)
    (base / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    repo = base / "work"
    repo.mkdir()
    sh(base, "git", "init", "-q", "--bare", "-b", "main", "origin.git", env=env)
    (repo / "train.py").write_text(TRAIN)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "params.yaml").write_text("seed: 1\n")
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / ".gitignore").write_text(".gitml/\n")
    sh(repo, "git", "init", "-q", "-b", "main", env=env)
    sh(repo, "dvc", "init", "-q", env=env)
    sh(repo, "dvc", "remote", "add", "-d", "local", "../dvcremote", env=env)
    sh(repo, "dvc", "config", "core.autostage", "true", env=env)

    def repro_commit(message: str) -> None:
        sh(repo, "dvc", "repro", "-q", env=env)
        sh(repo, "dvc", "push", "-q", env=env)
        sh(repo, "git", "add", "-A", env=env)
        sh(repo, "git", "commit", "-qm", message, env=env)

    repro_commit("first model")  # commit 1
    (repo / "params.yaml").write_text("seed: 2\n")
    repro_commit("second model")  # commit 2
    (repo / "README.md").write_text("docs only\n")
    sh(repo, "git", "add", "README.md", env=env)
    sh(repo, "git", "commit", "-qm", "docs", env=env)  # commit 3: no model change
    sh(repo, "git", "remote", "add", "origin", str(base / "origin.git"), env=env)
    sh(repo, "git", "push", "-q", "origin", "main", env=env)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("registry-template")
    _build_template(base)
    return base


def copy_project(template: Path, dest: Path) -> Project:
    shutil.copytree(template, dest, symlinks=True)
    p = Project(dest)
    p.git("remote", "set-url", "origin", str(p.origin))
    return p


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Project:
    """A private copy of the template project (3 commits on main, pushed to a bare origin)."""
    return copy_project(template, tmp_path / "p")


@pytest.fixture(scope="module")
def module_project(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A copy shared by the tests of one module (for read-only tests)."""
    return copy_project(template, tmp_path_factory.mktemp("mod") / "p")
