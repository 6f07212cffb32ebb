"""Running external commands (git, dvc) with errors a user can act on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from gitml.errors import CommandError, GitmlError


def run(
    argv: list[str],
    cwd: str | os.PathLike[str] | None = None,
    *,
    check: bool = True,
    env: dict[str, str] | None = None,
    hint: str | None = None,
    capture: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run argv; on failure raise CommandError carrying the command's output.

    With capture=False the command's output goes straight to the terminal
    (for long runs such as `dvc repro`, so the user sees progress).
    """
    if shutil.which(argv[0], path=(env or os.environ).get("PATH")) is None:
        raise GitmlError(f"`{argv[0]}` is not installed or not on PATH", hint=f"install {argv[0]} and try again")
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        text=True,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.STDOUT if capture else None,
        check=False,
    )
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stdout or "", hint=hint)
    return proc


def git(*args: str, cwd: str | os.PathLike[str] | None = None, check: bool = True) -> str:
    """Run git and return its stripped stdout."""
    return run(["git", *args], cwd=cwd, check=check).stdout.strip()


def dvc_argv() -> list[str]:
    """The dvc executable next to this Python, so a venv's dvc is used even when not on PATH."""
    for folder in (Path(sys.executable).parent, Path(os.path.realpath(sys.executable)).parent):
        if (folder / "dvc").exists():
            return [str(folder / "dvc")]
    return ["dvc"]


def dvc(*args: str, cwd: str | os.PathLike[str] | None = None, check: bool = True, capture: bool = True) -> str:
    """Run dvc and return its stdout (empty when not captured)."""
    return run([*dvc_argv(), *args], cwd=cwd, check=check, capture=capture).stdout or ""
