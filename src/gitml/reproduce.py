"""Reproduce a project's pipeline: validate params first, restore what is cached, push, read metrics."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml import config as config_mod
from gitml import dvcrepo
from gitml.errors import GitmlError
from gitml.fsutil import read_json
from gitml.params import load_validated, read_yaml


@dataclass
class ReproResult:
    root: Path
    stages: list[dvcrepo.StageRun]
    metrics: dict[str, Any]
    pushed: str | None
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "stages": [s.as_dict() for s in self.stages],
            "metrics": self.metrics,
            "pushed": self.pushed,
            "seconds": self.seconds,
        }


def validate_params(repo: str | Path = ".") -> Path:
    """Check the params file against [tool.gitml].params_schema; return its path."""
    cfg = config_mod.load(repo)
    if cfg.params_schema is None:
        read_yaml(cfg.params_file)  # at least it must parse
    else:
        load_validated(cfg.params_file, cfg.root / cfg.params_schema)
    return cfg.params_file


def read_metrics(cfg: config_mod.Config) -> dict[str, Any]:
    path = cfg.root / cfg.metrics
    return read_json(path, "metrics file") if path.exists() else {}


def reproduce(repo: str | Path = ".", *, push: bool = True, echo: bool = True) -> ReproResult:
    """Validate, `dvc repro --pull`, and push. On a failed stage the previous outputs are put back."""
    cfg = config_mod.load(repo)
    validate_params(cfg.root)
    started = time.perf_counter()
    try:
        stages = dvcrepo.repro(cfg.root, pull=True, echo=echo)
    except GitmlError:
        # dvc removes a stage's outputs before running it; restore the last good ones from the cache.
        dvcrepo.checkout(cfg.root)
        raise
    pushed = dvcrepo.push(cfg.root) if push else None
    return ReproResult(
        root=cfg.root,
        stages=stages,
        metrics=read_metrics(cfg),
        pushed=pushed,
        seconds=round(time.perf_counter() - started, 3),
    )


def render_summary(result: ReproResult) -> str:
    """A short human summary: each stage's fate and time, then the metrics."""
    lines = ["Stages:"]
    for s in result.stages:
        lines.append(f"  {s.name:<12} {s.status:<10} {s.seconds:7.2f} s")
    if result.pushed is not None:
        lines.append(f"DVC remote: {result.pushed}")
    if result.metrics:
        lines.append("Metrics:")
        width = max(len(k) for k in result.metrics)
        for k, v in result.metrics.items():
            lines.append(f"  {k:<{width}}  {v:.4f}" if isinstance(v, (int, float)) else f"  {k:<{width}}  {v}")
    return "\n".join(lines)
