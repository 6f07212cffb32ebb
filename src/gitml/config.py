"""The project's gitml configuration: the `[tool.gitml]` table of pyproject.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError

_KNOWN_KEYS = {"params_schema", "metrics", "params"}


@dataclass(frozen=True)
class Config:
    root: Path
    params: Path
    params_schema: Path | None
    metrics: Path
    raw: dict[str, Any]

    @property
    def params_file(self) -> Path:
        return self.root / self.params


def find_root(start: str | Path = ".") -> Path:
    """The nearest directory at or above start holding dvc.yaml or pyproject.toml."""
    here = Path(start).resolve()
    for d in (here, *here.parents):
        if (d / "dvc.yaml").exists() or (d / ".dvc").is_dir():
            return d
    raise GitmlError(f"no DVC project found at or above {here}", hint="run gitml inside a repository with a dvc.yaml")


def load(root: str | Path | None = None) -> Config:
    """Read [tool.gitml] from ROOT/pyproject.toml (all keys optional)."""
    base = find_root(root or ".")
    table: dict[str, Any] = {}
    pyproject = base / "pyproject.toml"
    if pyproject.exists():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise GitmlError(f"{pyproject} is not valid TOML: {exc}", hint="fix the syntax of pyproject.toml") from exc
        table = data.get("tool", {}).get("gitml", {})
    unknown = sorted(set(table) - _KNOWN_KEYS - {"gate", "registry", "runner", "experiment", "monitor", "serve"})
    if unknown:
        raise GitmlError(
            f"unknown key [tool.gitml].{unknown[0]} in {pyproject}",
            hint=f"known keys: {', '.join(sorted(_KNOWN_KEYS))}",
        )
    schema = table.get("params_schema")
    return Config(
        root=base,
        params=Path(table.get("params", "params.yaml")),
        params_schema=Path(schema) if schema else None,
        metrics=Path(table.get("metrics", "reports/metrics.json")),
        raw=table,
    )
