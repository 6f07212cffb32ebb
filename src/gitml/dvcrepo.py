"""DVC operations gitml needs, through the dvc CLI (the interface users know)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from gitml.errors import CommandError, GitmlError
from gitml.proc import dvc, dvc_argv

# How `dvc repro` announces what it does with each stage (DVC 3.x).
_RAN = re.compile(r"^Running stage '(?P<name>[^']+)'")
_RESTORED = re.compile(r"^Stage '(?P<name>[^']+)' is cached - skipping run")
_UNCHANGED = re.compile(r"^Stage '(?P<name>[^']+)' didn't change")


@dataclass
class StageRun:
    name: str
    status: str  # ran | restored | unchanged
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def stage_env() -> dict[str, str]:
    """The environment for stage commands: `python` must be this interpreter (the one with the project installed)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    return env


def repro(root: str | Path, *, pull: bool = True, echo: bool = True, targets: tuple[str, ...] = ()) -> list[StageRun]:
    """Run `dvc repro [--pull]`, streaming its output, and report each stage's fate and time.

    With pull, stages whose run is in the remote run cache are restored, not re-run.
    """
    argv = [*dvc_argv(), "repro", *(["--pull", "--allow-missing"] if pull else []), *targets]
    proc = subprocess.Popen(
        argv, cwd=root, env=stage_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1
    )
    stages: list[StageRun] = []
    lines: list[str] = []
    started = time.perf_counter()

    def close_last(now: float) -> None:
        if stages and stages[-1].seconds < 0:
            stages[-1].seconds = round(now - started_stage[0], 3)

    started_stage = [started]
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if echo:
            sys.stderr.write(line)
        for pattern, status in ((_RAN, "ran"), (_RESTORED, "restored"), (_UNCHANGED, "unchanged")):
            m = pattern.match(line)
            if m:
                now = time.perf_counter()
                close_last(now)
                started_stage[0] = now
                stages.append(StageRun(m["name"], status, -1.0))
                break
    code = proc.wait()
    close_last(time.perf_counter())
    if code != 0:
        raise CommandError(argv, code, "".join(lines), hint="see the stage's error above; fix it and run again")
    return stages


def checkout(root: str | Path) -> None:
    """Put the outputs recorded in dvc.lock back in the work tree from the cache."""
    dvc("checkout", "--quiet", cwd=root, check=False)


def push(root: str | Path, *, run_cache: bool = True) -> str:
    """Push outputs (and run-cache entries) to the default remote; return DVC's summary line."""
    out = dvc("push", *(["--run-cache"] if run_cache else []), cwd=root)
    lines = [ln for ln in out.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "nothing to push"


def default_remote(root: str | Path) -> tuple[str, str]:
    """(name, url) of the default remote; a GitmlError says how to add one when there is none."""
    name = dvc("remote", "default", cwd=root, check=False).strip()
    if not name:
        raise GitmlError(
            "no default DVC remote is configured",
            hint="add one: dvc remote add -d storage ~/.cache/gitml/dvc-remote (or s3://, ssh://, gs://, azure://)",
        )
    for line in dvc("remote", "list", cwd=root).splitlines():
        parts = line.split()
        if parts and parts[0] == name:
            return name, parts[1]
    raise GitmlError(f"default DVC remote {name!r} is not defined", hint=f"dvc remote add {name} URL")


def local_remote_path(root: str | Path, url: str) -> Path | None:
    """The directory of a local remote URL (plain path or file://), else None.

    DVC reads a relative path as relative to the .dvc folder holding the config.
    """
    if "://" in url and not url.startswith("file://"):
        return None
    path = Path(os.path.expanduser(url.removeprefix("file://")))
    return path if path.is_absolute() else (Path(root) / ".dvc" / path).resolve()


def status_clean(root: str | Path) -> tuple[bool, str]:
    """(up to date?, dvc's message) for the pipeline in the work tree."""
    out = dvc("status", cwd=root).strip()
    return (out.endswith("up to date.") or not out), out
