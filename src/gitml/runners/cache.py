"""One DVC cache (and one pip cache) per machine, shared by all its runners, and its garbage collection.

The runners' services point DVC_GLOBAL_CONFIG_DIR at a directory whose config
sets `cache.dir`, `cache.shared group` and `cache.type reflink,hardlink,symlink`:
every checkout on the machine then links its outputs from the one cache, and a
second runner's `dvc pull` finds everything already there.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import stat
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml import proc
from gitml.errors import GitmlError
from gitml.forge.github import GitHubClient
from gitml.fsutil import write_text_atomic

DEFAULT_CACHE_TYPES = ("reflink", "hardlink", "symlink")
_VALID_TYPES = {"reflink", "hardlink", "symlink", "copy"}
# Registry tags (GTO format): versions NAME@vX.Y.Z and stage assignments NAME#STAGE#N.
_REGISTRY_TAG = re.compile(r"^[^@#\s]+(@v\d+\.\d+\.\d+|#[^#!\s]+#\d+)$")


def cache_section(cache_dir: str, types: Iterable[str] = DEFAULT_CACHE_TYPES, shared: str = "group") -> str:
    types = tuple(types)
    bad = sorted(set(types) - _VALID_TYPES)
    if bad or not types:
        raise GitmlError(f"invalid DVC cache type(s) {bad or 'none'}", hint=f"use some of {sorted(_VALID_TYPES)}")
    return f'[cache]\n    dir = {cache_dir}\n    shared = {shared}\n    type = "{",".join(types)}"\n'


def replace_section(text: str, section: str, new_section: str) -> str:
    """Replace (or append) one `[section]` of a DVC config file, keeping every other section."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        header = re.match(r"^\s*\[(.+?)\]\s*$", line)
        if header:
            skipping = header.group(1).strip().strip("'\"") == section
        if not skipping:
            out.append(line)
    kept = "".join(out)
    if kept and not kept.endswith("\n"):
        kept += "\n"
    return kept + new_section


def write_cache_config(config_file: str | os.PathLike[str], cache_dir: str, types: Iterable[str] = DEFAULT_CACHE_TYPES) -> Path:
    """Point a DVC config file (global config, or a repository's .dvc/config.local) at the shared cache."""
    path = Path(config_file)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    return write_text_atomic(path, replace_section(existing, "cache", cache_section(cache_dir, types)))


def configure_machine(config_dir: str | os.PathLike[str], cache_dir: str, types: Iterable[str] = DEFAULT_CACHE_TYPES) -> Path:
    """Write DVC_GLOBAL_CONFIG_DIR/config for every runner of the machine."""
    return write_cache_config(Path(config_dir) / "config", cache_dir, types)


def configure_checkout(repo: str | os.PathLike[str], cache_dir: str, types: Iterable[str] = DEFAULT_CACHE_TYPES) -> Path:
    """Point one DVC checkout at the shared cache (its .dvc/config.local, never committed)."""
    dvc_dir = Path(repo) / ".dvc"
    if not dvc_dir.is_dir():
        raise GitmlError(f"{repo} is not a DVC repository (no .dvc directory)", hint="run inside a `dvc init` checkout")
    return write_cache_config(dvc_dir / "config.local", cache_dir, types)


def make_shared_dir(path: str | os.PathLike[str], group: str | None = None) -> Path:
    """Create a directory the runners' group can write, with setgid so new files keep the group."""
    target = Path(path)
    target.mkdir(parents=True, exist_ok=True)
    if group and os.geteuid() == 0:
        shutil.chown(target, group=group)
    target.chmod(0o2775)
    return target


def unique_bytes(*paths: str | os.PathLike[str]) -> int:
    """Bytes on disk of the regular files under paths, counting each inode once (hardlinks share)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for top in paths:
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                st = os.lstat(os.path.join(dirpath, name))
                if not stat.S_ISREG(st.st_mode):
                    continue  # symlinks point into the cache, already counted there
                key = (st.st_dev, st.st_ino)
                if key not in seen:
                    seen.add(key)
                    total += st.st_size
    return total


def cache_stats(cache_dir: str | os.PathLike[str]) -> dict[str, Any]:
    root = Path(cache_dir)
    objects = sum(1 for p in (root / "files").rglob("*") if p.is_file()) if (root / "files").is_dir() else 0
    return {"dir": str(root), "exists": root.is_dir(), "objects": objects, "bytes": unique_bytes(root) if root.is_dir() else 0}


# -- busy markers: a runner with a job holds one, and GC waits ----------------


def mark_busy(busy_dir: str | os.PathLike[str], runner: str, info: Mapping[str, Any]) -> Path:
    return write_text_atomic(Path(busy_dir) / runner, json.dumps({"since": time.time(), **info}) + "\n")


def clear_busy(busy_dir: str | os.PathLike[str], runner: str) -> None:
    (Path(busy_dir) / runner).unlink(missing_ok=True)


def busy_runners(busy_dir: str | os.PathLike[str], max_age_s: float = 48 * 3600) -> list[str]:
    """Runners with a job right now (markers older than max_age_s are from crashed jobs and ignored)."""
    root = Path(busy_dir)
    if not root.is_dir():
        return []
    now = time.time()
    return sorted(p.name for p in root.iterdir() if p.is_file() and now - p.stat().st_mtime < max_age_s)


# -- garbage collection -------------------------------------------------------


@dataclass
class GcResult:
    ran: bool
    reason: str = ""
    kept_branches: list[str] = field(default_factory=list)
    kept_tags: list[str] = field(default_factory=list)
    kept_pulls: list[int] = field(default_factory=list)
    bytes_before: int = 0
    bytes_after: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"version": 1, **self.__dict__}


def _git_env(token: str | None) -> dict[str, str]:
    """Environment for git with the token as an HTTP header (never on the command line)."""
    env = dict(os.environ)
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
            GIT_TERMINAL_PROMPT="0",
        )
    return env


def _git(args: list[str], cwd: Path | None, env: dict[str, str]) -> str:
    return proc.run(["git", *args], cwd=cwd, env=env, hint="check the repository URL and the token's read access").stdout


def open_pulls(client: GitHubClient, repo: str) -> list[int]:
    return sorted(int(p["number"]) for p in client.paginate(f"repos/{repo}/pulls", params={"state": "open"}))


def collect(
    *,
    repo: str,
    repo_url: str,
    workdir: str | os.PathLike[str],
    cache_dir: str,
    client: GitHubClient,
    branch: str = "main",
    busy_dir: str | os.PathLike[str] | None = None,
    token: str | None = None,
    dry_run: bool = False,
) -> GcResult:
    """Remove from the shared cache what neither `branch`, the registry tags nor an open PR references.

    Works in a private clone at `workdir`: fetch the branch, the tags and each
    open PR's head (refs/pull/N/head), keep only those refs, then `dvc gc
    --all-branches --all-tags`. Skips (and says so) while any runner has a job,
    since a running job's fresh outputs are in no commit yet.
    """
    if busy_dir:
        busy = busy_runners(busy_dir)
        if busy:
            return GcResult(False, reason=f"runner(s) busy: {', '.join(busy)}; the timer tries again later")
    pulls = open_pulls(client, repo)
    env = _git_env(token)
    clone = Path(workdir)
    if not (clone / ".git").is_dir():
        clone.parent.mkdir(parents=True, exist_ok=True)
        _git(["clone", "--quiet", "--no-checkout", repo_url, str(clone)], None, env)
    if _has_head(clone, env):
        _git(["checkout", "--quiet", "--detach"], clone, env)
    refspecs = [f"+refs/heads/{branch}:refs/heads/{branch}", "+refs/tags/*:refs/tags/*"]
    refspecs += [f"+refs/pull/{n}/head:refs/heads/pr/{n}" for n in pulls]
    _git(["fetch", "--quiet", "--prune", "--prune-tags", "--force", repo_url, *refspecs], clone, env)
    keep_branches = {branch, *(f"pr/{n}" for n in pulls)}
    for ref in _git(["for-each-ref", "--format=%(refname:short)", "refs/heads"], clone, env).split():
        if ref not in keep_branches:
            _git(["branch", "--quiet", "-D", ref], clone, env)
    tags = _git(["for-each-ref", "--format=%(refname:short)", "refs/tags"], clone, env).split()
    drop = [t for t in tags if not _REGISTRY_TAG.match(t)]
    if drop:
        _git(["tag", "-d", *drop], clone, env)
    _git(["checkout", "--quiet", "--force", branch], clone, env)
    if not (clone / ".dvc").is_dir():
        raise GitmlError(f"{repo_url} has no .dvc directory on {branch}", hint="point the GC at the DVC project's repository")
    write_cache_config(clone / ".dvc" / "config.local", cache_dir)
    before = unique_bytes(cache_dir) if Path(cache_dir).is_dir() else 0
    args = ["gc", "--all-branches", "--all-tags", "--force", "--quiet"]
    if dry_run:
        args.append("--dry")
    proc.run([*proc.dvc_argv(), *args], cwd=clone, env=env, hint="see `dvc gc` output above")
    after = unique_bytes(cache_dir) if Path(cache_dir).is_dir() else 0
    return GcResult(
        True,
        kept_branches=sorted(keep_branches - {f"pr/{n}" for n in pulls}),
        kept_tags=sorted(set(tags) - set(drop)),
        kept_pulls=pulls,
        bytes_before=before,
        bytes_after=after,
        dry_run=dry_run,
    )


def _has_head(clone: Path, env: dict[str, str]) -> bool:
    return proc.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=clone, env=env, check=False).returncode == 0
