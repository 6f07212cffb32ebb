"""`gitml doctor`: check for real what the system needs, and say what to fix."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from gitml import config as config_mod
from gitml import dvcrepo
from gitml.errors import GitmlError
from gitml.proc import dvc, dvc_argv, git
from gitml.reproduce import validate_params


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def all_ok(checks: list[Check]) -> bool:
    return all(c.status != "fail" for c in checks)


def check_git(root: Path) -> Check:
    if shutil.which("git") is None:
        return Check("git", "fail", "git is not installed", "install git 2.30 or newer")
    version = git("--version")
    try:
        git("rev-parse", "--show-toplevel", cwd=root)
    except GitmlError:
        return Check("git", "fail", f"{root} is not inside a git repository", "run `git init` or cd into your clone")
    return Check("git", "ok", version)


def check_dvc(root: Path) -> Check:
    argv = dvc_argv()
    if shutil.which(argv[0]) is None:
        return Check("dvc", "fail", "dvc is not installed", "pip install 'dvc>=3.50'")
    version = dvc("--version").strip()
    if not (root / ".dvc").is_dir():
        return Check("dvc", "fail", f"dvc {version}, but {root} is not a DVC project", "run `dvc init`")
    return Check("dvc", "ok", f"dvc {version}")


def check_params(root: Path) -> Check:
    try:
        path = validate_params(root)
    except GitmlError as exc:
        return Check("params", "fail", str(exc), "edit params.yaml to match the schema")
    cfg = config_mod.load(root)
    against = f"against {cfg.params_schema}" if cfg.params_schema else "(no params_schema configured)"
    return Check("params", "ok", f"{path.name} is valid {against}")


def _write_probe(directory: Path) -> None:
    """Create the directory if needed, then write and delete a file in it."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(prefix=".gitml-doctor-", dir=directory)
    try:
        os.write(fd, uuid.uuid4().bytes)
    finally:
        os.close(fd)
        os.unlink(probe)


def check_remote(root: Path) -> Check:
    try:
        name, url = dvcrepo.default_remote(root)
    except GitmlError as exc:
        return Check("remote", "fail", exc.message, exc.hint or "")
    local = dvcrepo.local_remote_path(root, url)
    if local is not None:
        try:
            _write_probe(local)
        except OSError as exc:
            return Check(
                "remote", "fail", f"remote {name!r} at {local} is not writable: {exc.strerror}",
                f"fix the permissions of {local} or point the remote elsewhere: dvc remote modify {name} url PATH",
            )
        return Check("remote", "ok", f"{name!r} at {local} is reachable and writable")
    try:
        dvc("status", "--cloud", cwd=root)
    except GitmlError as exc:
        return Check(
            "remote", "fail", f"remote {name!r} ({url}) is not reachable: {exc.message}",
            "check credentials and the dvc extra for this remote (e.g. pip install 'dvc[s3]')",
        )
    return Check("remote", "ok", f"{name!r} ({url}) is reachable; write access is proven by the first push")


def check_pipeline(root: Path) -> Check:
    if not (root / "dvc.yaml").exists():
        return Check("pipeline", "fail", "no dvc.yaml", "declare your stages in dvc.yaml")
    try:
        clean, out = dvcrepo.status_clean(root)
    except GitmlError as exc:
        return Check("pipeline", "fail", f"dvc status failed: {exc.message}", "fix dvc.yaml (see the message)")
    if clean:
        return Check("pipeline", "ok", "outputs match dvc.lock")
    changed = sorted({ln.split(":")[0].strip() for ln in out.splitlines() if ln and not ln.startswith(("\t", " "))})
    return Check("pipeline", "warn", f"not up to date: {', '.join(changed)}", "run `gitml repro` (restores cached stages, runs the rest)")


CHECKS: tuple[Callable[[Path], Check], ...] = (check_git, check_dvc, check_params, check_remote, check_pipeline)


def run_checks(repo: str | Path = ".") -> list[Check]:
    """Run every check; a failed early check (no git, no dvc) skips the ones that need it."""
    try:
        root = config_mod.find_root(repo)
    except GitmlError as exc:
        return [Check("project", "fail", exc.message, exc.hint or "")]
    results: list[Check] = []
    for check in CHECKS:
        if results and results[-1].status == "fail" and results[-1].name in {"git", "dvc"}:
            results.append(Check(check.__name__.removeprefix("check_"), "fail", "skipped: fix the check above first"))
            continue
        results.append(check(root))
    return results
