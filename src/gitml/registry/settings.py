"""Registry settings: `[tool.gitml.registry]` of pyproject.toml (all keys optional).

    [tool.gitml.registry]
    stages = ["dev", "staging", "prod"]     # allowed stages, in promotion order
    order = { prod = ["staging"] }          # a version reaches prod only after staging
    bump = "minor"                          # default bump of `gitml ci release`
    remote = "origin"                       # git remote that tags are pushed to
    deploy = "./deploy.sh"                  # command the deploy job runs (see `gitml registry deploy`)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError
from gitml.registry.names import validate_bump, validate_stage

DEFAULT_STAGES = ("dev", "staging", "prod")
_KEYS = {"stages", "order", "bump", "remote", "deploy"}


@dataclass(frozen=True)
class RegistrySettings:
    root: Path
    stages: tuple[str, ...] = DEFAULT_STAGES
    order: dict[str, tuple[str, ...]] = field(default_factory=dict)
    bump: str = "minor"
    remote: str = "origin"
    deploy: str | None = None
    metrics: tuple[str, ...] = ("reports/metrics.json",)


def _where(key: str) -> str:
    return f"[tool.gitml.registry].{key} in pyproject.toml"


def from_table(root: Path, table: dict[str, Any], metrics: str = "reports/metrics.json") -> RegistrySettings:
    """Validate the registry table; every error names the key and what is expected."""
    if not isinstance(table, dict):
        raise GitmlError("[tool.gitml.registry] must be a table", hint="see the gitml docs for its keys")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise GitmlError(f"unknown key {_where(unknown[0])}", hint=f"known keys: {', '.join(sorted(_KEYS))}")
    stages = table.get("stages", list(DEFAULT_STAGES))
    if not isinstance(stages, list) or not stages or not all(isinstance(s, str) for s in stages):
        raise GitmlError(f"{_where('stages')} must be a non-empty list of names", hint='e.g. ["dev", "staging", "prod"]')
    for s in stages:
        validate_stage(s)
    if len(set(stages)) != len(stages):
        raise GitmlError(f"{_where('stages')} lists a stage twice", hint="list each stage once")
    order_raw = table.get("order", {})
    if not isinstance(order_raw, dict):
        raise GitmlError(f"{_where('order')} must be a table stage -> list of stages", hint='e.g. { prod = ["staging"] }')
    order: dict[str, tuple[str, ...]] = {}
    for stage, before in order_raw.items():
        before_list = [before] if isinstance(before, str) else before
        if not isinstance(before_list, list) or not all(isinstance(b, str) for b in before_list):
            raise GitmlError(f"{_where('order')}.{stage} must be a list of stages", hint='e.g. prod = ["staging"]')
        validate_stage(stage, tuple(stages))
        for b in before_list:
            validate_stage(b, tuple(stages))
        order[stage] = tuple(before_list)
    bump = table.get("bump", "minor")
    validate_bump(bump)
    remote = table.get("remote", "origin")
    if not isinstance(remote, str) or not remote or remote.startswith("-") or any(c.isspace() for c in remote):
        raise GitmlError(f"{_where('remote')} must be a git remote name", hint='e.g. "origin"')
    deploy = table.get("deploy")
    if deploy is not None and (not isinstance(deploy, str) or not deploy.strip()):
        raise GitmlError(f"{_where('deploy')} must be a command line", hint='e.g. "./scripts/deploy.sh"')
    return RegistrySettings(root, tuple(stages), order, bump, remote, deploy, (metrics,))


def load(root: str | Path | None = None) -> RegistrySettings:
    """Settings of the project at or above root."""
    from gitml import config

    cfg = config.load(root)
    return from_table(cfg.root, cfg.raw.get("registry", {}), str(cfg.metrics))
