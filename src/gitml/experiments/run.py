"""Run one variant of a plan: `dvc exp run --pull --name issue-N-K -S ...`, then `dvc exp push origin NAME`.

`--pull` restores every stage whose run is in the remote run cache (only what the overrides
change is trained); `dvc exp push --run-cache` sends the experiment's ref (refs/exps/...) to
the Git remote and its outputs and run-cache entries to the DVC remote. The work tree is put
back to the base commit afterwards, so several variants can run one after another in one clone.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml import config as config_mod
from gitml import dvcrepo
from gitml import reproduce as reproduce_mod
from gitml.errors import GitmlError
from gitml.experiments.collect import snapshot_of
from gitml.experiments.plan import Plan
from gitml.forge.gitauth import git_auth
from gitml.proc import dvc_argv, git, run

RESULTS_DIR = Path("reports/experiments")


@dataclass
class VariantRun:
    name: str
    sha: str  # the experiment's commit
    baseline: str
    overrides: dict[str, Any]
    metrics: dict[str, Any]
    base_metrics: dict[str, float] = field(default_factory=dict)
    stages: list[dict[str, Any]] = field(default_factory=list)
    pushed: bool = False
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"version": 1, "name": self.name, "sha": self.sha, "baseline": self.baseline,
                "overrides": self.overrides, "metrics": self.metrics, "base_metrics": self.base_metrics,
                "stages": self.stages, "pushed": self.pushed,
                "seconds": self.seconds}


def exp_ref(root: str | Path, name: str) -> tuple[str, str] | None:
    """(ref, commit) of the local experiment NAME (refs/exps/XX/BASELINE/NAME), newest first; None when absent."""
    out = git("for-each-ref", "--sort=-creatordate", "--format=%(objectname) %(refname)", "refs/exps", cwd=root,
              check=False)
    for line in out.splitlines():
        sha, _, ref = line.partition(" ")
        if ref.rsplit("/", 1)[-1] == name and "/exec/" not in ref:
            return ref, sha
    return None


def restore_workspace(root: str | Path) -> None:
    """Tracked files back to HEAD (dvc exp run applies the experiment to the work tree), outputs to match."""
    git("checkout", "--quiet", "HEAD", "--", ".", cwd=root)
    dvcrepo.checkout(root)


def run_variant(root: str | Path, plan: Plan, name: str, *, push: bool = True, remote: str = "origin",
                echo: bool = True, env: Mapping[str, str] | None = None) -> VariantRun:
    """Run the plan's variant NAME on a clean checkout of the plan's base commit, and push it."""
    cfg = config_mod.load(root)
    root = cfg.root
    variant = plan.variant(name)
    head = git("rev-parse", "HEAD", cwd=root)
    if head != plan.base_sha:
        raise GitmlError(f"the checkout is at {head[:8]}, not the plan's base {plan.base} ({plan.base_sha[:8]})",
                         hint=f"git checkout {plan.base_sha}")
    dirty = git("status", "--porcelain", "--untracked-files=no", cwd=root)
    if dirty:
        raise GitmlError("the work tree has uncommitted changes; an experiment would include them",
                         hint="commit or stash them first:\n" + dirty)
    if exp_ref(root, name) is not None:
        raise GitmlError(f"experiment {name} already exists in this repository", hint=f"dvc exp remove {name}")
    started = time.perf_counter()
    # The base's metrics, read here where the DVC remote is reachable, travel with the result to the collect job.
    base_metrics = snapshot_of(cfg, head).metrics
    args = ["--name", name]
    for arg in variant.set_args:
        args += ["-S", arg]
    try:
        stages = dvcrepo.repro(root, pull=True, echo=echo, command=("exp", "run"), args=tuple(args))
        found = exp_ref(root, name)
        if found is None:
            raise GitmlError(f"`dvc exp run` finished but made no experiment named {name}")
        metrics = reproduce_mod.read_metrics(cfg)
    except GitmlError:
        restore_workspace(root)
        raise
    result = VariantRun(name, found[1], head, dict(variant.overrides), metrics, base_metrics,
                        [s.as_dict() for s in stages])
    try:
        if push:
            push_experiment(root, name, remote=remote, env=env)
            result.pushed = True
    finally:
        restore_workspace(root)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def result_path(root: str | Path, name: str) -> Path:
    """Where a variant's result JSON goes (the fan-out job uploads it for the collect job)."""
    return Path(root) / RESULTS_DIR / f"{name}.json"


def push_experiment(root: str | Path, name: str, *, remote: str = "origin", env: Mapping[str, str] | None = None) -> None:
    """`dvc exp push --run-cache REMOTE NAME`: the ref to Git, outputs and run-cache entries to the DVC remote."""
    with git_auth(env) as auth_env:
        run([*dvc_argv(), "exp", "push", "--run-cache", remote, name], cwd=root, env=auth_env,
            hint="the job needs contents: write (GITHUB_TOKEN) for the Git remote, and DVC remote credentials")
