"""The project's gitml configuration: the `[tool.gitml]` table of pyproject.toml."""

from __future__ import annotations

import dataclasses
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
class ServeConfig:
    """[tool.gitml.serve]: how `gitml serve` finds the served schema, logs predictions and follows a stage."""

    schema: str = "data/prepared/schema.json"  # JSON schema of the features, read at the model's revision
    max_batch: int = 10000  # rows per /predict request
    log: str = ".gitml/predictions/predictions.jsonl"  # prediction log (JSON Lines), "" to disable
    log_max_bytes: int = 64 * 1024 * 1024  # rotate the log past this size
    log_backups: int = 5  # rotated files kept (predictions.jsonl.1 ... .N)
    log_queue: int = 10000  # records waiting to be written; more are dropped (and counted), never blocking
    poll_seconds: float = 30.0  # how often the stage tag is checked on the git remote


@dataclass(frozen=True)
class RetrainConfig:
    """[tool.gitml.monitor.retrain]: open a retraining pull request on a drift breach."""

    enabled: bool = False
    command: str = ""  # moves the data version, e.g. "dvc update data/raw.parquet.dvc"
    branch: str = "gitml/retrain"
    base: str = "main"


@dataclass(frozen=True)
class MonitorConfig:
    """[tool.gitml.monitor]: what drift, quality and live performance are judged against."""

    reference: str = "data/prepared/train.parquet"  # training data of the served version (read at its revision)
    bins: int = 10  # quantile bins of the population stability index
    psi: float = 0.2  # a feature drifts when its PSI reaches this ...
    ks_pvalue: float = 0.01  # ... or its KS p-value is below this (Bonferroni over features)
    ks_statistic: float = 0.1  # ... and its KS statistic reaches this (effect size: large samples are always "significant")
    prediction_psi: float = 0.2  # PSI of the predicted score that flags prediction drift
    null_rate: float = 0.05  # how far a nullable feature's null share may rise over training's (non-nullable: no nulls)
    out_of_range: float = 0.01  # the largest share of values outside the schema's min/max
    unseen_category: float = 0.01  # the largest share of category values the training data never held
    max_metric_drop: float = 0.05  # live metric below offline by more than this: production skew
    min_rows: int = 50  # fewer current rows than this: report, but never breach
    label: str = "drift"  # the label of the drift issue
    retrain: RetrainConfig = field(default_factory=RetrainConfig)


@dataclass(frozen=True)
class ExperimentConfig:
    """[tool.gitml.experiment]: experiments run from issues (`/experiment key=value ...`)."""

    primary_metric: str = ""  # the metric that picks the best variant ("" = the first gate metric)
    max_variants: int = 32  # the largest grid one command may expand to
    label: str = "experiment"  # the issue label that runs the issue form's experiment
    watermark: str = "gitml-experiment"  # CML watermark title of the sticky results comment
    branch_prefix: str = "exp/"  # promoted experiments become branches PREFIX + NAME


@dataclass(frozen=True)
class Config:
    root: Path
    params: Path
    params_schema: Path | None
    metrics: Path
    raw: dict[str, Any]
    gate: GateConfig = field(default_factory=GateConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)

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
        serve=_typed_table(ServeConfig, table.get("serve", {}), "serve", pyproject),
        monitor=_monitor(table.get("monitor", {}), pyproject),
        experiment=_typed_table(ExperimentConfig, table.get("experiment", {}), "experiment", pyproject),
    )


def _bad(pyproject: Path, key: str, value: Any, expected: str) -> GitmlError:
    table, _, leaf = key.rpartition(".")
    where = f"[tool.gitml.{table}].{leaf}" if table else f"[tool.gitml].{leaf}"
    return GitmlError(f"{pyproject}: {where} = {value!r} is invalid: expected {expected}")


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


def _typed_table(cls: Any, table: Any, key: str, pyproject: Path, skip: tuple[str, ...] = ()) -> Any:
    """A flat dataclass from a table: unknown keys and wrong types name the key and what was expected."""
    if not isinstance(table, dict):
        raise _bad(pyproject, key, table, "a table")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
    unknown = sorted(set(table) - set(fields) - set(skip))
    if unknown:
        raise GitmlError(f"unknown key [tool.gitml.{key}].{unknown[0]} in {pyproject}",
                         hint=f"known keys: {', '.join(sorted(fields))}")
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in table:
            continue
        value, default = table[name], f.default
        if isinstance(default, bool):
            ok = isinstance(value, bool)
            expected = "true or false"
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
            expected = "a whole number > 0"
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
            expected = "a number >= 0"
            value = float(value) if ok else value
        else:
            ok = isinstance(value, str)
            expected = "a string"
        if not ok:
            raise _bad(pyproject, f"{key}.{name}", value, expected)
        values[name] = value
    return cls(**values)


def _monitor(table: Any, pyproject: Path) -> MonitorConfig:
    if not isinstance(table, dict):
        raise _bad(pyproject, "monitor", table, "a table")
    cfg = _typed_table(MonitorConfig, table, "monitor", pyproject, skip=("retrain",))
    if cfg.bins < 2:
        raise _bad(pyproject, "monitor.bins", cfg.bins, "a whole number >= 2")
    retrain = _typed_table(RetrainConfig, table.get("retrain", {}), "monitor.retrain", pyproject)
    if retrain.enabled and not retrain.command.strip():
        raise _bad(pyproject, "monitor.retrain.command", retrain.command, "the command that moves the data version")
    return dataclasses.replace(cfg, retrain=retrain)
