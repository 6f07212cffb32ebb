"""Collect an issue's experiments from the Git remote and compare each with its base commit.

Every `issue-N-K` experiment ref is fetched (`refs/exps/*`); an experiment's base is the commit
it was run from (its first parent, the base branch at the time). Metrics and params are read
with the PR report's revision reader (outputs by hash from the DVC cache or remote) and
compared with `gitml.report.compare.metric_rows`, so directions follow [tool.gitml.gate].
Variants of the plan with no ref in the remote failed (or were cancelled) on their runner.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml import config as config_mod
from gitml.experiments.plan import Plan
from gitml.forge.gitauth import git_auth
from gitml.errors import GitmlError
from gitml.proc import git, run
from gitml.report import compare
from gitml.report.revision import Revision, Snapshot, flatten, snapshot

COLLECT_VERSION = 1


@dataclass
class Experiment:
    name: str
    index: int
    status: str  # done (its ref is in the remote) | failed (a planned variant with no ref)
    sha: str | None = None
    baseline: str | None = None
    params: list[dict[str, Any]] = field(default_factory=list)  # compare.param_rows against the baseline
    metrics: list[dict[str, Any]] = field(default_factory=list)  # compare.metric_rows against the baseline
    overrides: dict[str, Any] = field(default_factory=dict)  # as asked (from the plan), when known
    missing: list[str] = field(default_factory=list)

    def metric(self, name: str) -> float | None:
        for row in self.metrics:
            if row["name"] == name:
                return row["pr"]
        return None

    def row(self, name: str) -> dict[str, Any] | None:
        return next((r for r in self.metrics if r["name"] == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "index": self.index, "status": self.status, "sha": self.sha,
                "baseline": self.baseline, "params": self.params, "metrics": self.metrics,
                "overrides": self.overrides, "missing": self.missing}


@dataclass
class Collection:
    issue: int
    primary_metric: str
    direction: str
    experiments: list[Experiment]
    plan: Plan | None = None
    best: str | None = None

    @property
    def current(self) -> list[Experiment]:
        """The experiments of this run (the plan's variants), or all when there is no plan."""
        if self.plan is None:
            return self.experiments
        names = set(self.plan.names)
        return [e for e in self.experiments if e.name in names]

    @property
    def state(self) -> str:
        """done when every variant of this run finished, failed when any did not."""
        return "failed" if any(e.status != "done" for e in self.current) or not self.current else "done"

    def as_dict(self) -> dict[str, Any]:
        return {"version": COLLECT_VERSION, "issue": self.issue, "primary_metric": self.primary_metric,
                "direction": self.direction, "best": self.best, "state": self.state,
                "current": [e.name for e in self.current], "experiments": [e.as_dict() for e in self.experiments]}


def fetch(root: str | Path, *, remote: str = "origin", env: Mapping[str, str] | None = None) -> None:
    """Fetch every experiment ref of the Git remote (`refs/exps/*`)."""
    with git_auth(env) as auth_env:
        run(["git", "fetch", "--quiet", "--no-tags", remote, "+refs/exps/*:refs/exps/*"], cwd=root, env=auth_env,
            hint="the job needs contents: read and GITHUB_TOKEN")


def issue_refs(root: str | Path, issue: int) -> dict[str, tuple[int, str]]:
    """name -> (K, commit) of every local `issue-N-K` experiment."""
    pattern = re.compile(rf"^refs/exps/.+/(issue-{issue}-(\d+))$")
    out = git("for-each-ref", "--format=%(objectname) %(refname)", "refs/exps", cwd=root, check=False)
    found: dict[str, tuple[int, str]] = {}
    for line in out.splitlines():
        sha, _, ref = line.partition(" ")
        m = pattern.match(ref)
        if m:
            found[m.group(1)] = (int(m.group(2)), sha)
    return found


def snapshot_of(cfg: config_mod.Config, rev: str) -> Snapshot:
    """Params and metrics of a revision (outputs by hash: DVC cache, a local remote, else the DVC remote)."""
    return snapshot(Revision(cfg.root, rev), params_file=cfg.params.as_posix(), metrics_file=cfg.metrics.as_posix(),
                    stats_files=(), plots=set())


def load_results(folder: str | Path | None) -> dict[str, dict[str, Any]]:
    """The variant jobs' result JSONs (name -> result) in folder, searched recursively; {} when none."""
    found: dict[str, dict[str, Any]] = {}
    if folder is None or not Path(folder).is_dir():
        return found
    for path in sorted(Path(folder).rglob("issue-*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise GitmlError(f"cannot read the variant result {path}: {exc}") from exc
        if isinstance(data, dict) and data.get("version") == 1 and data.get("name"):
            found[str(data["name"])] = data
    return found


def _numeric(metrics: Any) -> dict[str, float]:
    return {k: float(v) for k, v in flatten(metrics or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


def collect(root: str | Path, issue: int, *, plan: Plan | None = None, remote: str | None = "origin",
            env: Mapping[str, str] | None = None, cfg: config_mod.Config | None = None,
            results: str | Path | None = None) -> Collection:
    """Every experiment of the issue, each against its base commit, and the best by the primary metric.

    Metrics come from the variant jobs' result files in `results` when there (the fan-out jobs read
    them where the DVC remote is reachable), else from the DVC cache or remote.
    """
    from gitml.experiments.plan import primary_metric

    cfg = cfg or config_mod.load(root)
    reported = load_results(results)
    if remote:
        fetch(cfg.root, remote=remote, env=env)
    primary = plan.primary_metric if plan else primary_metric(cfg)
    direction = cfg.gate.rule(primary).direction
    refs = issue_refs(cfg.root, issue)
    planned = {v.name: v for v in plan.variants} if plan else {}
    bases: dict[str, Snapshot] = {}
    experiments: list[Experiment] = []
    for name, (index, sha) in refs.items():
        baseline = git("rev-parse", f"{sha}^1", cwd=cfg.root)
        if baseline not in bases:
            bases[baseline] = snapshot_of(cfg, baseline)
        base, exp = bases[baseline], snapshot_of(cfg, sha)
        mine = reported.get(name)
        if mine and mine.get("sha") == sha:
            exp.metrics = exp.metrics or _numeric(mine.get("metrics"))
            base.metrics = base.metrics or _numeric(mine.get("base_metrics"))
            exp.missing = [m for m in exp.missing if not m.startswith(cfg.metrics.as_posix())]
            base.missing = [m for m in base.missing if not m.startswith(cfg.metrics.as_posix())]
        experiments.append(Experiment(
            name, index, "done", sha, baseline,
            compare.param_rows(base.params, exp.params),
            compare.metric_rows(cfg, base.metrics if base.metrics else None, exp.metrics),
            dict(planned[name].overrides) if name in planned else {},
            sorted({*base.missing, *exp.missing}),
        ))
    for name, variant in planned.items():
        if name not in refs:
            experiments.append(Experiment(name, variant.index, "failed", overrides=dict(variant.overrides)))
    experiments.sort(key=lambda e: e.index)
    result = Collection(issue, primary, direction, experiments, plan)
    result.best = best(result.experiments, primary, direction)
    return result


def best(experiments: list[Experiment], metric: str, direction: str) -> str | None:
    """The finished experiment with the best value of `metric` (the earliest on a tie)."""
    scored = [(e.metric(metric), e) for e in experiments if e.status == "done" and e.metric(metric) is not None]
    if not scored:
        return None
    sign = 1.0 if direction == "higher" else -1.0
    return max(scored, key=lambda pair: (sign * float(pair[0]), -pair[1].index))[1].name
