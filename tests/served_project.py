"""A reproduced example project with two registered model versions, v1.0.0 in prod, and a bare git origin.

Shared by tests/serve and tests/monitor (built once per session from `pipeline_template`).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Served:
    repo: Path  # the project clone the server runs in (has `origin`)
    origin: Path  # bare repository: the "GitHub" remote
    remote: Path  # the DVC remote
    cache: Path  # where fetched versions are kept (shared, so tests fetch each version once)

    def promoter(self, dest: Path) -> Path:
        """Another clone of origin, where a release manager promotes and pushes tags."""
        clone = dest / "promoter"
        if not clone.exists():
            subprocess.run(["git", "clone", "-q", str(self.origin), str(clone)], check=True, capture_output=True)
        return clone


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, text=True, capture_output=True).stdout.strip()


def build(template: tuple[Path, Path], base: Path) -> Served:
    from gitml.registry import api

    src_repo, src_remote = template
    repo, remote, origin = base / "repo", base / "remote", base / "origin.git"
    shutil.copytree(src_repo, repo, symlinks=True)
    shutil.copytree(src_remote, remote)
    (repo / ".dvc" / "config.local").write_text(f"['remote \"local\"']\n    url = {remote}\n")
    with pytest.MonkeyPatch.context() as mp:
        home = base / "home"
        home.mkdir()
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for var in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
            mp.setenv(var, "Release Manager")
        for var in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
            mp.setenv(var, "rm@example.com")
        api.register(repo, "model", version="v1.0.0")
        git(repo, "commit", "-q", "--allow-empty", "-m", "a second release of the same model")
        api.register(repo, "model", version="v1.1.0")
        api.promote(repo, "model", "v1.0.0", "prod")
        subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(origin)], check=True, capture_output=True)
        git(repo, "remote", "add", "origin", str(origin))
        git(repo, "fetch", "-q", "origin")
    return Served(repo, origin, remote, base / "serve-cache")


def copy(served: Served, dest: Path) -> Served:
    """A private copy (repo, origin, DVC remote) for a test that moves tags; the fetch cache stays shared."""
    repo, origin, remote = dest / "repo", dest / "origin.git", dest / "remote"
    shutil.copytree(served.repo, repo, symlinks=True)
    shutil.copytree(served.origin, origin)
    shutil.copytree(served.remote, remote)
    (repo / ".dvc" / "config.local").write_text(f"['remote \"local\"']\n    url = {remote}\n")
    git(repo, "remote", "set-url", "origin", str(origin))
    return Served(repo, origin, remote, served.cache)




@pytest.fixture(scope="session")
def served(pipeline_template: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Served:
    """The example project with model v1.0.0 (prod) and v1.1.0 registered, and a bare origin (tests/serve, tests/monitor)."""
    return build(pipeline_template, tmp_path_factory.mktemp("served"))
