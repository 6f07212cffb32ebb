"""dvc.yaml and the stage modules agree: each cmd names exactly the stage's deps and outs."""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DVC_YAML = yaml.safe_load((ROOT / "dvc.yaml").read_text())
STAGES = DVC_YAML["stages"]


def _paths(entries: list) -> set[str]:
    return {next(iter(e)) if isinstance(e, dict) else e for e in entries}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_cmd_names_exactly_the_declared_paths(name):
    stage = STAGES[name]
    argv = shlex.split(stage["cmd"])
    assert argv[:2] == ["python", "-m"], "stages run as modules of the installed project"
    module = importlib.import_module(argv[2])
    args = vars(module.arg_parser().parse_args(argv[3:]))  # every flag exists, required ones given
    assert args.pop("params") == "params.yaml"
    cmd_paths = set(args.values())

    deps = set(stage.get("deps", []))
    code_deps = {d for d in deps if d.endswith(".py")}
    outs = _paths(stage.get("outs", [])) | _paths(stage.get("metrics", [])) | _paths(stage.get("plots", []))
    assert f"src/{argv[2].replace('.', '/')}.py" in code_deps, "the stage's own module is a dependency"
    assert cmd_paths == (deps - code_deps) | outs
    for dep in code_deps:
        assert (ROOT / dep).exists(), dep


def test_params_sections_exist_in_params_yaml():
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for name, stage in STAGES.items():
        for key in stage.get("params", []):
            assert key in params, f"{name} depends on missing param {key}"


def test_every_output_is_cached():
    for name, stage in STAGES.items():
        for kind in ("outs", "metrics", "plots"):
            for entry in stage.get(kind, []):
                opts = next(iter(entry.values())) if isinstance(entry, dict) else {}
                assert (opts or {}).get("cache", True), f"{name}: {entry} is not cached"


def test_model_artifact_is_a_stage_output():
    outs = {p for s in STAGES.values() for p in _paths(s.get("outs", []))}
    for artifact in DVC_YAML["artifacts"].values():
        assert artifact["path"] in outs
