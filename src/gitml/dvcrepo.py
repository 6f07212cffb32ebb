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

# How `dvc repro --pull` announces what it does with each stage (DVC 3.x), and the
# fate each line implies. A later line about the same stage can upgrade its fate:
# "Pulling data" then "Running stage" means the pull missed and the stage ran.
_EVENTS = (
    (re.compile(r"^Running stage '(?P<name>[^']+)'"), "ran"),
    (re.compile(r"^Stage '(?P<name>[^']+)' is cached - skipping run"), "restored"),
    (re.compile(r"^Pulling data for stage: '(?P<name>[^']+)'"), "restored"),
    (re.compile(r"^Stage '(?P<name>[^']+)' didn't change"), "unchanged"),
)
_RANK = {"unchanged": 0, "restored": 1, "ran": 2}
# Expected when a stage's outputs are not in the remote yet (it then runs): not worth showing.
_PULL_MISS_NOISE = re.compile(
    r"^(WARNING: Some of the cache files do not exist neither locally nor on remote|(name: .*, )?md5: [0-9a-f]+(\.dir)?$)"
)


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


def repro(root: str | Path, *, pull: bool = True, echo: bool = True, targets: tuple[str, ...] = (),
          command: tuple[str, ...] = ("repro",), args: tuple[str, ...] = ()) -> list[StageRun]:
    """Run `dvc repro [--pull]`, streaming its output, and report each stage's fate and time.

    With pull, stages whose run is in the remote run cache are restored, not re-run.
    `command=("exp", "run")` with `args` (e.g. `--name`, `-S`) runs an experiment the same way.
    """
    argv = [*dvc_argv(), *command, *(["--pull"] if pull else []), *args, *targets]
    proc = subprocess.Popen(
        argv, cwd=root, env=stage_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1
    )
    stages: dict[str, StageRun] = {}
    lines: list[str] = []
    last = [time.perf_counter(), ""]  # when the current stage started, its name

    def close_current(now: float) -> None:
        if last[1]:
            stages[last[1]].seconds = round(now - last[0], 3)

    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if echo and not _PULL_MISS_NOISE.match(line):
            sys.stderr.write(line)
        for pattern, status in _EVENTS:
            m = pattern.match(line)
            if not m:
                continue
            name = m["name"]
            if name not in stages:
                now = time.perf_counter()
                close_current(now)
                last[:] = [now, name]
                stages[name] = StageRun(name, status, 0.0)
            elif _RANK[status] > _RANK[stages[name].status]:
                stages[name].status = status
            break
    code = proc.wait()
    close_current(time.perf_counter())
    if code != 0:
        failed = [n for n, st in stages.items() if st.status == "ran"][-1:] or ["?"]
        stage_errors = [ln.strip()[len("error: "):] for ln in lines if ln.startswith("error: ")]
        if stage_errors:  # the stage said what is wrong (gitml stages print "error: ..."): say just that
            raise GitmlError(f"stage {failed[0]!r} failed: {stage_errors[-1]}")
        raise CommandError(argv, code, "".join(lines), hint="see the stage's output above; fix it and run again")
    return list(stages.values())


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
    # `dvc config` prints the value alone (`dvc remote list` is a table that wraps long URLs).
    url = dvc("config", f"remote.{name}.url", cwd=root, check=False).strip()
    if not url:
        raise GitmlError(f"default DVC remote {name!r} is not defined", hint=f"dvc remote add {name} URL")
    return name, url


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
