"""The experiment issue form: valid for GitHub, and its fields are the ones the jobs read."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gitml.experiments import issue as issue_mod

FORM = Path(__file__).resolve().parents[2] / ".github" / "ISSUE_TEMPLATE" / "experiment.yml"


def test_the_form_is_a_valid_github_issue_form() -> None:
    tool = Path(sys.executable).parent / "check-jsonschema"
    path = str(tool) if tool.exists() else shutil.which("check-jsonschema")
    if not path:
        pytest.skip("check-jsonschema is not installed (pip install check-jsonschema)")
    proc = subprocess.run([path, "--builtin-schema", "vendor.github-issue-forms", str(FORM)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_forms_fields_are_the_ones_the_jobs_read() -> None:
    form = yaml.safe_load(FORM.read_text())
    labels = {item["id"]: item["attributes"]["label"] for item in form["body"] if item["type"] != "markdown"}
    assert labels == issue_mod.FORM_FIELDS
    assert "labels" not in form  # the `experiment` label runs it: only a maintainer adds it


def test_a_body_as_github_renders_the_form_is_read_back() -> None:
    form = yaml.safe_load(FORM.read_text())
    answers = {"hypothesis": "Deeper trees help.", "overrides": "train.random_forest.n_estimators=300",
               "grid": "train.random_forest.max_depth=4,8", "base": ""}
    parts = []
    for item in form["body"]:
        if item["type"] == "markdown":
            continue
        text = answers[item["id"]] or "_No response_"
        if item["attributes"].get("render") and answers[item["id"]]:
            text = f"```{item['attributes']['render']}\n{text}\n```"
        parts.append(f"### {item['attributes']['label']}\n\n{text}")
    request = issue_mod.parse_form("\n\n".join(parts))
    assert request.hypothesis == "Deeper trees help." and request.base is None
    assert [str(o) for o in request.overrides] == ["train.random_forest.n_estimators=300",
                                                   "train.random_forest.max_depth=4,8"]
