"""The quality gate: each metric against its configured floor, ceiling and largest allowed regression."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gitml.config import GateConfig

_EPS = 1e-12


@dataclass(frozen=True)
class Check:
    metric: str
    rule: str  # min | max | max_regression | present
    passed: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateResult:
    passed: bool
    checks: tuple[Check, ...]
    fail_job: bool
    context: str

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def summary(self) -> str:
        """One line: why the gate passed or failed (fits a commit status description)."""
        if not self.checks:
            return "no gate rules configured"
        if self.passed:
            return f"all {len(self.checks)} checks passed"
        return "; ".join(c.message for c in self.failures)

    def as_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "summary": self.summary, "fail_job": self.fail_job, "context": self.context,
                "checks": [c.as_dict() for c in self.checks]}


def regression(direction: str, base: float, pr: float) -> float:
    """How far pr moved in the worse direction from base (negative when it improved)."""
    return base - pr if direction == "higher" else pr - base


def evaluate(gate: GateConfig, base: dict[str, float] | None, pr: dict[str, float]) -> GateResult:
    """Judge the PR's metrics. Without a baseline (base=None) regression checks are skipped, not failed."""
    checks: list[Check] = []
    for name, rule in sorted(gate.metrics.items()):
        value = pr.get(name)
        if value is None:
            checks.append(Check(name, "present", False, f"{name} is missing from the PR's metrics"))
            continue
        if rule.min is not None:
            ok = value >= rule.min - _EPS
            checks.append(Check(name, "min", ok, f"{name} {value:.4g} {'>=' if ok else '<'} min {rule.min:g}"))
        if rule.max is not None:
            ok = value <= rule.max + _EPS
            checks.append(Check(name, "max", ok, f"{name} {value:.4g} {'<=' if ok else '>'} max {rule.max:g}"))
        if rule.max_regression is not None and base is not None and name in base:
            worse = regression(rule.direction, base[name], value)
            ok = worse <= rule.max_regression + _EPS
            moved = f"regressed by {worse:.4g}" if worse > 0 else "did not regress"
            checks.append(Check(name, "max_regression", ok,
                                f"{name} {moved} ({'<=' if ok else '>'} {rule.max_regression:g} allowed)"))
    return GateResult(all(c.passed for c in checks), tuple(checks), gate.fail_job, gate.context)


def from_dict(data: dict[str, Any]) -> GateResult:
    """The gate result stored in a report JSON."""
    return GateResult(
        bool(data["passed"]),
        tuple(Check(**c) for c in data.get("checks", [])),
        bool(data.get("fail_job", True)),
        str(data.get("context", "gitml/gate")),
    )
