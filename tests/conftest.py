"""Shared fixtures: an isolated HOME and git identity, and real git repositories.

Every test runs with its own HOME, so the default DVC remote (~/.cache/gitml/...)
and any git configuration are private to the test.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from testkit import PROJECT_FILES, PROJECT_ROOT, VENV_BIN, copy_project, git, set_remote


# Never let a test talk to the real GitHub or read a real token.
UNSET = ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL", "GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS", "CI")


def isolation_env(home: Path) -> dict[str, str]:
    """The environment of a test: its own HOME (so its own ~/.cache/gitml DVC remote), git config and identity."""
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    return {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test User",
        "GIT_COMMITTER_NAME": "Test User",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "DVC_NO_ANALYTICS": "1",
        "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
    }


def pytest_configure(config: pytest.Config) -> None:
    """Isolate the whole session too: module- and session-scoped fixtures run outside `isolated_env`."""
    os.environ.update(isolation_env(Path(tempfile.mkdtemp(prefix="gitml-test-home-"))))
    for var in UNSET:
        os.environ.pop(var, None)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    for var, value in isolation_env(home).items():
        monkeypatch.setenv(var, value)
    for var in UNSET:
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    """An empty git repository with one commit, on branch main."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("test\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "init")
    return repo


# --- a real project with the example pipeline, reproduced once per session ---

@pytest.fixture(scope="session")
def pipeline_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A git repo holding this project's pipeline, reproduced and pushed to its own local remote.

    Built once; tests take a copy with `pipeline_project`.
    """
    import shutil

    base = tmp_path_factory.mktemp("template")
    repo, remote = base / "repo", base / "remote"
    repo.mkdir()
    for rel in PROJECT_FILES:
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / rel, repo / rel)
    shutil.copytree(PROJECT_ROOT / "src" / "pipeline", repo / "src" / "pipeline",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT_ROOT / ".dvc", repo / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp", "config.local"))
    env = {**os.environ, "HOME": str(base), "GIT_CONFIG_GLOBAL": str(base / ".gitconfig"),
           "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@e.com", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@e.com", "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", "")}
    set_remote(repo, remote)
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-qm", "project"],
                 [f"{VENV_BIN}/gitml", "repro"], ["git", "add", "-A"], ["git", "commit", "-qm", "reproduce"]):
        proc = subprocess.run(argv, cwd=repo, env=env, text=True, capture_output=True)
        assert proc.returncode == 0, f"{argv}: {proc.stdout}\n{proc.stderr}"
    return repo, remote


@pytest.fixture
def pipeline_project(pipeline_template: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """(repo, remote): a private copy of the reproduced template project."""
    return copy_project(*pipeline_template, tmp_path)


from served_project import served  # noqa: E402,F401 - session fixture of tests/serve and tests/monitor
