"""The project's gitml configuration: the `[tool.gitml]` table of pyproject.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError

_KNOWN_KEYS = {"params_schema", "metrics", "params", "gate", "report"}
_DIRECTIONS = ("higher", "lower")
# Metrics whose name says smaller is better, when [tool.gitml.gate.metrics.NAME].direction is not set.
_LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse", "brier")


@dataclass(frozen=True)
class MetricRule:
    """How one metric is judged: its direction, an optional floor/ceiling, the largest allowed regression."""

    name: str
    direction: str = "higher"  # higher | lower (is better)
    min: float | None = None
    max: float | None = None
    max_regression: float | None = None  # absolute, against the base


@dataclass(frozen=True)
class GateConfig:
    """[tool.gitml.gate]: the quality gate a pull request must pass."""

    fail_job: bool = True
    context: str = "gitml/gate"
    metrics: dict[str, MetricRule] = field(default_factory=dict)

    def rule(self, metric: str) -> MetricRule:
        """The configured rule, or one with the direction guessed from the name."""
        if metric in self.metrics:
            return self.metrics[metric]
        lower = any(word in metric.lower() for word in _LOWER_IS_BETTER)
        return MetricRule(metric, "lower" if lower else "higher")


@dataclass(frozen=True)
class ReportConfig:
    """[tool.gitml.report]: what the pull-request report shows and how its comment is found."""

    watermark: str = "gitml"  # CML watermark title: one sticky comment per PR
    stats: tuple[str, ...] = ()  # JSON files (DVC outputs) with data statistics, e.g. row counts


@dataclass(frozen=True)
class Config:
    root: Path
    params: Path
    params_schema: Path | None
    metrics: Path
    raw: dict[str, Any]
    gate: GateConfig = field(default_factory=GateConfig)
    report: ReportConfig = field(default_factory=ReportConfig)

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
        gate=_gate(table.get("gate", {}), pyproject),
        report=_report(table.get("report", {}), pyproject),
    )


def _bad(pyproject: Path, key: str, value: Any, expected: str) -> GitmlError:
    return GitmlError(f"{pyproject}: [tool.gitml.{key}] = {value!r} is invalid: expected {expected}")


def _number(pyproject: Path, key: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(pyproject, key, value, "a number")
    return float(value)


def _gate(table: Any, pyproject: Path) -> GateConfig:
    if not isinstance(table, dict):
        raise _bad(pyproject, "gate", table, "a table")
    unknown = sorted(set(table) - {"fail_job", "context", "metrics"})
    if unknown:
        raise GitmlError(f"unknown key [tool.gitml.gate].{unknown[0]} in {pyproject}",
                         hint="known keys: context, fail_job, metrics")
    fail_job = table.get("fail_job", True)
    if not isinstance(fail_job, bool):
        raise _bad(pyproject, "gate.fail_job", fail_job, "true or false")
    context = table.get("context", "gitml/gate")
    if not isinstance(context, str) or not context:
        raise _bad(pyproject, "gate.context", context, "a non-empty string")
    rules: dict[str, MetricRule] = {}
    for name, spec in (table.get("metrics") or {}).items():
        key = f"gate.metrics.{name}"
        if not isinstance(spec, dict):
            raise _bad(pyproject, key, spec, "a table with direction, min, max, max_regression")
        extra = sorted(set(spec) - {"direction", "min", "max", "max_regression"})
        if extra:
            raise GitmlError(f"unknown key [tool.gitml.{key}].{extra[0]} in {pyproject}",
                             hint="known keys: direction, max, max_regression, min")
        direction = spec.get("direction", GateConfig().rule(name).direction)
        if direction not in _DIRECTIONS:
            raise _bad(pyproject, f"{key}.direction", direction, "'higher' or 'lower'")
        regression = _number(pyproject, f"{key}.max_regression", spec.get("max_regression"))
        if regression is not None and regression < 0:
            raise _bad(pyproject, f"{key}.max_regression", regression, "a number >= 0")
        rules[name] = MetricRule(
            name, direction, _number(pyproject, f"{key}.min", spec.get("min")),
            _number(pyproject, f"{key}.max", spec.get("max")), regression,
        )
    return GateConfig(fail_job=fail_job, context=context, metrics=rules)


def _report(table: Any, pyproject: Path) -> ReportConfig:
    if not isinstance(table, dict):
        raise _bad(pyproject, "report", table, "a table")
    unknown = sorted(set(table) - {"watermark", "stats"})
    if unknown:
        raise GitmlError(f"unknown key [tool.gitml.report].{unknown[0]} in {pyproject}",
                         hint="known keys: stats, watermark")
    watermark = table.get("watermark", "gitml")
    if not isinstance(watermark, str) or not watermark.strip():
        raise _bad(pyproject, "report.watermark", watermark, "a non-empty string")
    stats = table.get("stats", [])
    if isinstance(stats, str):
        stats = [stats]
    if not isinstance(stats, list) or not all(isinstance(x, str) for x in stats):
        raise _bad(pyproject, "report.stats", stats, "a list of paths")
    return ReportConfig(watermark=watermark.strip(), stats=tuple(stats))
