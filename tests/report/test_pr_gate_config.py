"""[tool.gitml.gate] parsing (clear errors naming the key) and the gate's verdicts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitml import config as config_mod
from gitml.errors import GitmlError
from gitml.report import gate as gate_mod


def _cfg(tmp_path: Path, toml: str) -> config_mod.Config:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "pyproject.toml").write_text("[tool.gitml]\n" + toml)
    return config_mod.load(tmp_path)


def test_gate_config_parsed_with_defaults(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "[tool.gitml.gate]\nfail_job = false\n[tool.gitml.gate.metrics.auc]\nmin = 0.9\n"
                         "max_regression = 0.01\n[tool.gitml.gate.metrics.val_loss]\nmax = 0.5\n")
    assert cfg.gate.fail_job is False and cfg.gate.context == "gitml/gate"
    assert cfg.gate.metrics["auc"] == config_mod.MetricRule("auc", "higher", 0.9, None, 0.01)
    assert cfg.gate.metrics["val_loss"].direction == "lower"  # guessed from the name
    assert cfg.gate.rule("rmse").direction == "lower" and cfg.gate.rule("accuracy").direction == "higher"
    assert cfg.report.watermark == "gitml" and cfg.report.stats == ()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[tool.gitml.gate.metrics.auc]\ndirection = \"up\"\n", "[tool.gitml.gate.metrics.auc].direction = 'up' is invalid"),
        ("[tool.gitml.gate.metrics.auc]\nmin = \"high\"\n", "[tool.gitml.gate.metrics.auc].min = 'high' is invalid"),
        ("[tool.gitml.gate.metrics.auc]\nmax_regression = -1\n", "[tool.gitml.gate.metrics.auc].max_regression = -1.0 is invalid"),
        ("[tool.gitml.gate.metrics.auc]\nminimum = 1\n", "unknown key [tool.gitml.gate.metrics.auc].minimum"),
        ("[tool.gitml.gate]\nfail_job = \"yes\"\n", "[tool.gitml.gate].fail_job = 'yes' is invalid"),
        ("[tool.gitml.gate]\nfailjob = true\n", "unknown key [tool.gitml.gate].failjob"),
        ("[tool.gitml.report]\nwatermark = \"\"\n", "[tool.gitml.report].watermark = '' is invalid"),
    ],
)
def test_bad_gate_config_names_the_key(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(GitmlError, match=re.escape(message)):
        _cfg(tmp_path, toml)


def test_gate_verdicts() -> None:
    gate = config_mod.GateConfig(metrics={
        "auc": config_mod.MetricRule("auc", "higher", min=0.9, max_regression=0.01),
        "loss": config_mod.MetricRule("loss", "lower", max=0.5, max_regression=0.02),
    })
    ok = gate_mod.evaluate(gate, {"auc": 0.95, "loss": 0.30}, {"auc": 0.945, "loss": 0.31})
    assert ok.passed and ok.summary == "all 4 checks passed"
    bad = gate_mod.evaluate(gate, {"auc": 0.95, "loss": 0.30}, {"auc": 0.93, "loss": 0.6})
    assert not bad.passed
    assert [c.message for c in bad.failures] == [
        "auc regressed by 0.02 (> 0.01 allowed)", "loss 0.6 > max 0.5", "loss regressed by 0.3 (> 0.02 allowed)"]
    no_base = gate_mod.evaluate(gate, None, {"auc": 0.95, "loss": 0.3})
    assert no_base.passed and all(c.rule != "max_regression" for c in no_base.checks)
    missing = gate_mod.evaluate(gate, None, {"auc": 0.95})
    assert not missing.passed and "loss is missing" in missing.summary
    assert gate_mod.from_dict(bad.as_dict()) == bad
