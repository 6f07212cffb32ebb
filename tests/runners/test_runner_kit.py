"""The files in runner/: they parse, their labels match the plan and the workflows, scripts pass shellcheck;
every `gitml runner` command has help text."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import click
import pytest
import yaml
from runner_support import DATA, KIT, RecordedSmi

from gitml.runners import gpus
from gitml.runners.cli import runner
from gitml.runners.plan import DEFAULT_JOB_LABELS, make_plan

WORKFLOWS = KIT.parent / ".github" / "workflows"
SCRIPTS = [KIT / "bin" / "gitml-runner-start", *sorted((KIT / "hooks").glob("*.sh")), DATA / "fake-nvidia-smi"]


def h100_labels() -> set[str]:
    plan = make_plan(gpus.discover(RecordedSmi(DATA / "one-gpu")), host="box", arch="x86_64")
    return set(plan.runners[0].labels)


def test_arc_values_request_gpus_and_carry_the_plan_labels() -> None:
    values = yaml.safe_load((KIT / "k8s" / "values-gpu.yaml").read_text())
    assert values["githubConfigUrl"].startswith("https://github.com/") and values["githubConfigSecret"]
    assert values["minRunners"] == 0 and values["maxRunners"] >= 1
    (container,) = values["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1 == container["resources"]["requests"]["nvidia.com/gpu"]
    labels = set(values["scaleSetLabels"])
    assert set(DEFAULT_JOB_LABELS) <= labels
    assert labels - {"cuda-12", "cuda-12.4"} <= h100_labels()  # the same names a GPU box's H100 runner gets
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["ACTIONS_RUNNER_HOOK_JOB_STARTED"].endswith("job-started.sh")
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert env["DVC_GLOBAL_CONFIG_DIR"] in mounts and "/opt/gitml/hooks" in mounts


def test_arc_configmaps_parse_and_match_the_kit() -> None:
    docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all((KIT / "k8s" / "dvc-config.yaml").read_text())}
    config = docs["gitml-dvc-config"]["data"]["config"]
    assert "shared = group" in config and 'type = "reflink,hardlink,symlink"' in config
    hooks = docs["gitml-runner-hooks"]["data"]
    for name in ("job-started.sh", "job-completed.sh"):
        kit_script = (KIT / "hooks" / name).read_text().splitlines()
        assert hooks[name].splitlines()[0] == kit_script[0]  # same shebang
        assert hooks[name].splitlines()[-1] == kit_script[-1]  # same `exec gitml runner hook ...`


def _runs_on_labels(runs_on: object) -> list[list[str]]:
    """Label lists a job asks for: a list, or JSON list literals inside an expression (defaults of vars)."""
    if isinstance(runs_on, list):
        return [[str(x) for x in runs_on]]
    if isinstance(runs_on, dict):
        return _runs_on_labels(runs_on.get("labels"))
    if isinstance(runs_on, str):
        found = [json.loads(m) for m in re.findall(r"\[[^\[\]]*\]", runs_on.replace("'", '"')) if '"' in m]
        return [f for f in found if isinstance(f, list)] or ([[runs_on]] if "${{" not in runs_on else [])
    return []


def test_workflow_gpu_jobs_ask_for_labels_the_runners_have() -> None:
    gpu_runner = h100_labels()
    checked = 0
    for path in sorted(WORKFLOWS.glob("*.y*ml")) if WORKFLOWS.is_dir() else []:
        workflow = yaml.safe_load(path.read_text()) or {}
        for job_id, job in (workflow.get("jobs") or {}).items():
            for labels in _runs_on_labels((job or {}).get("runs-on")):
                if "self-hosted" not in labels:
                    continue
                checked += 1
                assert set(labels) <= gpu_runner, f"{path.name}:{job_id} asks for {labels}, runners have {sorted(gpu_runner)}"
    # Whatever workflows exist, the documented default is what a GPU runner carries.
    assert set(DEFAULT_JOB_LABELS) <= gpu_runner
    assert checked >= 0


def test_runs_on_parsing() -> None:
    assert _runs_on_labels(["self-hosted", "linux", "gpu"]) == [["self-hosted", "linux", "gpu"]]
    expr = "${{ fromJSON(vars.GPU_RUNNER_LABELS || '[\"self-hosted\",\"linux\",\"gpu\"]') }}"
    assert _runs_on_labels(expr) == [["self-hosted", "linux", "gpu"]]
    assert _runs_on_labels("ubuntu-latest") == [["ubuntu-latest"]]


def test_unit_templates_use_only_known_placeholders() -> None:
    for template in (KIT / "systemd").glob("*.in"):
        assert set(re.findall(r"@([A-Z_]+)@", template.read_text())) <= {
            "NAME", "DEVICES", "USER", "GROUP", "ENV_FILE", "RUNNER_DIR", "CACHE_DIR", "GITML_BIN", "TOKEN_FILE",
            "START_SCRIPT", "STATE_DIR", "SCHEDULE",
        }


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_pass_shellcheck() -> None:
    result = subprocess.run(["shellcheck", *map(str, SCRIPTS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_scripts_are_executable() -> None:
    assert all(p.stat().st_mode & 0o111 for p in SCRIPTS)


def _walk(command: click.Command, path: str = "runner") -> list[tuple[str, click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            found += _walk(sub, f"{path} {name}")
    return found


def test_every_command_and_option_has_help() -> None:
    for path, command in _walk(runner):
        assert (command.help or "").strip(), f"`gitml {path}` has no help"
        for param in command.params:
            if isinstance(param, click.Option):
                assert (param.help or "").strip(), f"`gitml {path}` option {param.opts} has no help"


def test_reads_have_json() -> None:
    for path, command in _walk(runner):
        if path.split()[-1] in ("plan", "status", "install", "remove", "gc"):
            assert any("--json" in getattr(p, "opts", []) for p in command.params), path


def test_runner_readme_covers_the_steps() -> None:
    text = (KIT / "README.md").read_text()
    for needed in ("gitml runner plan", "gitml runner install", "gitml runner status", "gitml runner remove",
                   "safe-to-train", "github-token", "DVC_GLOBAL_CONFIG_DIR", "k8s/README.md"):
        assert needed in text, needed
