"""Fixtures for the experiment tests: projects whose main is pushed to a bare Git origin."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from exp_fakes import git

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def params_repo(tmp_path: Path) -> Path:
    """A light project (params, schema, config; no DVC run) whose main is pushed to a bare origin."""
    repo = tmp_path / "repo"
    for rel in ("dvc.yaml", "params.yaml", "pyproject.toml", "src/pipeline/params.schema.json"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / rel, repo / rel)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "project")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    git(repo, "fetch", "-q", "origin")
    return repo


@pytest.fixture
def exp_project(pipeline_project: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """(repo, bare origin): the reproduced example project, its main pushed to a bare origin."""
    repo, _remote = pipeline_project
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    git(repo, "fetch", "-q", "origin")
    return repo, origin
