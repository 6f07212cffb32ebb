"""Job hooks of a gitml runner (ACTIONS_RUNNER_HOOK_JOB_STARTED / _COMPLETED).

started: refuse a fork's pull request that a maintainer has not approved (the
`safe-to-train` label), refuse comment- or issue-triggered jobs from people
without write access, and fail fast on an unhealthy GPU. This is defence in
depth behind the workflow's own checks: a runner never trusts a workflow to
have checked.

completed: empty the job's workspace (inside the runner's work folder only),
keep the machine's shared caches.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError
from gitml.runners import cache, gpus

TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})
PR_EVENTS = frozenset({"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment"})
DEFAULT_APPROVAL_LABEL = "safe-to-train"


class HookRefused(GitmlError):
    """The hook refuses this job; the message says why and what a maintainer can do."""


@dataclass(frozen=True)
class JobContext:
    event_name: str
    event: Mapping[str, Any]
    repository: str
    workspace: str | None
    runner_name: str
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> JobContext:
        event_path = env.get("GITHUB_EVENT_PATH", "")
        if not event_path:
            raise HookRefused(
                "GITHUB_EVENT_PATH is not set, so this job's origin cannot be checked; refusing it",
                hint="the hook must run as ACTIONS_RUNNER_HOOK_JOB_STARTED of a GitHub Actions runner",
            )
        try:
            event = json.loads(Path(event_path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise HookRefused(f"cannot read the job's event payload {event_path}: {exc}; refusing the job") from exc
        return cls(
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event=event if isinstance(event, dict) else {},
            repository=env.get("GITHUB_REPOSITORY", ""),
            workspace=env.get("GITHUB_WORKSPACE") or None,
            runner_name=env.get("GITML_RUNNER_NAME") or env.get("RUNNER_NAME", "runner"),
            env=env,
        )


def check_origin(ctx: JobContext, approval_label: str = DEFAULT_APPROVAL_LABEL) -> str:
    """Return why the job may run, or raise HookRefused."""
    if ctx.event_name in PR_EVENTS:
        return _check_pull_request(ctx, approval_label)
    if ctx.event_name in ("issue_comment", "issues", "discussion_comment"):
        actor = ctx.event.get("comment") or ctx.event.get("issue") or {}
        association = str(actor.get("author_association", "NONE"))
        login = (actor.get("user") or {}).get("login", "someone")
        if association not in TRUSTED_ASSOCIATIONS:
            raise HookRefused(
                f"refusing a {ctx.event_name} job started by {login} ({association}): only "
                f"{', '.join(sorted(TRUSTED_ASSOCIATIONS))} may run jobs on self-hosted GPU runners",
                hint="a maintainer can run the same request",
            )
        return f"{ctx.event_name} by {login} ({association})"
    # push, workflow_dispatch, schedule, merge_group, release, ...: code already in the repository.
    return f"{ctx.event_name or 'unknown event'} in {ctx.repository}"


def _check_pull_request(ctx: JobContext, approval_label: str) -> str:
    pr = ctx.event.get("pull_request") or {}
    number = pr.get("number", "?")
    base = ((pr.get("base") or {}).get("repo") or {}).get("full_name") or ctx.repository
    head_repo = (pr.get("head") or {}).get("repo")
    head = (head_repo or {}).get("full_name")
    if head and base and head.lower() == base.lower() and not (head_repo or {}).get("fork", False):
        return f"pull request #{number} from a branch of {base}"
    labels = {str(label.get("name", "")) for label in pr.get("labels", []) if isinstance(label, dict)}
    origin = head or "a deleted fork"
    if approval_label not in labels:
        raise HookRefused(
            f"refusing pull request #{number} from {origin}: forks run on self-hosted GPU runners only with "
            f"a maintainer's approval (the `{approval_label}` label)",
            hint=f"a maintainer reviews the change, then adds the `{approval_label}` label to the pull request",
        )
    if ctx.event.get("action") == "synchronize":
        raise HookRefused(
            f"refusing pull request #{number} from {origin}: new commits were pushed after the `{approval_label}` "
            "approval, and the approval covers only the code a maintainer reviewed",
            hint=f"a maintainer reviews the new commits, removes the `{approval_label}` label and adds it again",
        )
    return f"pull request #{number} from {origin}, approved with `{approval_label}`"


def limits_from_env(env: Mapping[str, str]) -> gpus.HealthLimits:
    def number(key: str, default: int) -> int:
        raw = env.get(key, "").strip()
        if not raw:
            return default
        try:
            return int(raw)
        except ValueError as exc:
            raise GitmlError(f"{key}={raw!r} is not a whole number", hint=f"fix {key} in the runner's env file") from exc

    defaults = gpus.HealthLimits()
    return gpus.HealthLimits(
        max_temperature_c=number("GITML_GPU_MAX_TEMP_C", defaults.max_temperature_c),
        max_memory_used_mib=number("GITML_GPU_MAX_USED_MIB", defaults.max_memory_used_mib),
        allow_ecc_errors=number("GITML_GPU_ALLOW_ECC_ERRORS", defaults.allow_ecc_errors),
    )


def check_gpus(env: Mapping[str, str], smi: gpus.Smi = gpus.run_nvidia_smi) -> list[str]:
    """Health of the runner's GPUs (GITML_RUNNER_GPUS); raise HookRefused listing every problem."""
    wanted = [u for u in env.get("GITML_RUNNER_GPUS", "").split(",") if u]
    if not wanted:
        return []
    limits = limits_from_env(env)
    shared = env.get("GITML_RUNNER_MIG") == "1"  # MIG slices share the GPU: others' memory use is expected
    if shared:
        limits = gpus.HealthLimits(limits.max_temperature_c, max_memory_used_mib=10**9, allow_ecc_errors=limits.allow_ecc_errors)
    try:
        health = {h.uuid: h for h in gpus.read_health(smi)}
    except GitmlError as exc:
        raise HookRefused(str(exc)) from exc
    problems = []
    checked = []
    for uuid in wanted:
        state = health.get(uuid)
        if state is None:
            problems.append(f"GPU {uuid} is not visible to nvidia-smi (fell off the bus, or the plan is stale)")
            continue
        if shared:
            state = gpus.GpuHealth(state.uuid, state.index, state.temperature_c, None, state.ecc_uncorrected)
        problems += gpus.health_problems(state, limits)
        checked.append(f"GPU {state.index}: {state.temperature_c} C, {state.memory_used_mib} MiB used")
    if problems:
        raise HookRefused(
            "unhealthy GPU, failing fast: " + "; ".join(problems),
            hint="the job did not start; fix the GPU or take this runner out of service (`gitml runner remove NAME`)",
        )
    return checked


def job_started(env: Mapping[str, str], smi: gpus.Smi = gpus.run_nvidia_smi) -> list[str]:
    """Run every start check; return what was checked (for the job log) or raise HookRefused."""
    ctx = JobContext.from_env(env)
    approval = env.get("GITML_APPROVAL_LABEL") or DEFAULT_APPROVAL_LABEL
    lines = [f"origin ok: {check_origin(ctx, approval)}"]
    lines += [f"gpu ok: {line}" for line in check_gpus(env, smi)]
    busy_dir = env.get("GITML_BUSY_DIR")
    if busy_dir:
        cache.mark_busy(busy_dir, ctx.runner_name, {"repository": ctx.repository, "event": ctx.event_name})
    return lines


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def clean_workspace(workspace: str | os.PathLike[str], work_root: str | os.PathLike[str], keep: list[str]) -> list[str]:
    """Empty `workspace`, which must lie inside `work_root`; never touch `keep` paths (the caches)."""
    ws = Path(workspace).resolve()
    root = Path(work_root).resolve()
    if not ws.is_dir():
        return []
    if ws == root or not _inside(ws, root):
        raise GitmlError(
            f"refusing to clean {ws}: it is not inside the runner's work folder {root}",
            hint="GITHUB_WORKSPACE must be a job checkout under the runner's _work directory",
        )
    keeps = [Path(k).resolve() for k in keep if k]
    removed = []
    for entry in sorted(ws.iterdir()):
        resolved = entry.resolve() if not entry.is_symlink() else entry
        if any(_inside(k, resolved) or _inside(resolved, k) for k in keeps):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, onerror=_force_remove)
        else:
            entry.unlink()
        removed.append(entry.name)
    return removed


def _force_remove(func: Any, path: str, _exc: Any) -> None:
    """rmtree helper: make the directory writable and retry.

    Files are never chmod-ed: a DVC output may be a hardlink to a cache object,
    and changing its mode would change the shared cache's copy too. Removing a
    read-only file only needs a writable directory.
    """
    os.chmod(os.path.dirname(path), 0o700)
    if os.path.isdir(path) and not os.path.islink(path):
        os.chmod(path, 0o700)
    func(path)


def job_completed(env: Mapping[str, str]) -> list[str]:
    """Clean the workspace and clear the busy marker; the shared caches stay."""
    lines = []
    workspace = env.get("GITHUB_WORKSPACE")
    runner_dir = env.get("GITML_RUNNER_DIR")
    if workspace and runner_dir:
        keep = [p for p in env.get("GITML_CACHE_DIRS", "").split(":") if p]
        removed = clean_workspace(workspace, Path(runner_dir) / "_work", keep)
        lines.append(f"cleaned {workspace} ({len(removed)} entries); shared caches kept")
    else:
        lines.append("no GITHUB_WORKSPACE/GITML_RUNNER_DIR: nothing to clean")
    busy_dir = env.get("GITML_BUSY_DIR")
    if busy_dir:
        cache.clear_busy(busy_dir, env.get("GITML_RUNNER_NAME") or env.get("RUNNER_NAME", "runner"))
    return lines
