"""[tool.gitml.serve] and [tool.gitml.monitor]: defaults, and errors that name the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitml import config
from gitml.errors import GitmlError


def _project(tmp_path: Path, toml: str) -> Path:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "pyproject.toml").write_text(toml)
    return tmp_path


def test_defaults_and_values(tmp_path: Path) -> None:
    cfg = config.load(_project(tmp_path, '[tool.gitml.monitor]\npsi = 0.3\nmin_rows = 10\n[tool.gitml.serve]\npoll_seconds = 5\n'))
    assert cfg.monitor.psi == 0.3 and cfg.monitor.min_rows == 10 and cfg.monitor.ks_statistic == 0.1
    assert cfg.serve.poll_seconds == 5.0 and cfg.serve.schema == "data/prepared/schema.json"
    assert not cfg.monitor.retrain.enabled
    assert config.load(Path(__file__).resolve().parents[2]).monitor.reference == "data/prepared/train.parquet"


@pytest.mark.parametrize(("toml", "message"), [
    ('[tool.gitml.monitor]\npsi = "high"\n', "[tool.gitml.monitor].psi = 'high' is invalid: expected a number >= 0"),
    ("[tool.gitml.monitor]\nbins = 1\n", "expected a whole number >= 2"),
    ("[tool.gitml.monitor]\nthreshold = 1\n", "unknown key [tool.gitml.monitor].threshold"),
    ("[tool.gitml.serve]\nmax_batch = 0\n", "[tool.gitml.serve].max_batch = 0 is invalid: expected a whole number > 0"),
    ("[tool.gitml.monitor.retrain]\nenabled = true\n", "[tool.gitml.monitor.retrain].command = '' is invalid"),
    ('[tool.gitml.monitor.retrain]\nenabled = "yes"\n', "expected true or false"),
])
def test_errors_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(GitmlError) as err:
        config.load(_project(tmp_path, toml))
    assert message in str(err.value)
