"""`gitml ci experiment ...` as the workflow steps call it, and the sandbox entry point for the main job."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from exp_fakes import comment_event

from gitml.cli import main
from gitml.experiments.demo import run_from_comment


def _outputs(path: Path) -> dict[str, str]:
    """Parse $GITHUB_OUTPUT's `key<<DELIMITER` blocks."""
    found = {}
    for m in re.finditer(r"^(\w+)<<(\S+)\n(.*?)\n\2$", path.read_text(), flags=re.S | re.M):
        found[m.group(1)] = m.group(3)
    return found


def test_parse_prints_what_a_comment_asks_for(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ci", "experiment", "parse", "/experiment a.b=1,2,3 c='x y'"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["variants"] == 3 and out["overrides"][1] == {"key": "c", "values": ["x y"]}


def test_plan_writes_the_step_outputs(params_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(comment_event("/experiment evaluate.threshold=0.3,0.4")))
    output = tmp_path / "output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.chdir(params_repo)
    assert main(["ci", "experiment", "plan", "--event", str(event), "--event-name", "issue_comment", "--no-post"]) == 0
    assert "issue-7-2: evaluate.threshold=0.4" in capsys.readouterr().out
    outputs = _outputs(output)
    assert outputs["action"] == "run" and outputs["issue"] == "7"
    assert json.loads(outputs["matrix"]) == {"name": ["issue-7-1", "issue-7-2"]}
    assert json.loads(outputs["plan"])["base_sha"]

    # collect with no experiment pushed: both variants failed, the step fails
    monkeypatch.setenv("GITML_EXPERIMENT_PLAN", outputs["plan"])
    assert main(["ci", "experiment", "collect", "--no-post", "--no-fetch"]) == 1
    assert "0 of 2 variant(s) of this run finished" in capsys.readouterr().out


def test_a_bad_command_is_answered_not_failed(params_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(comment_event("/experiment train.random_forest.max_depth=0")))
    monkeypatch.chdir(params_repo)
    assert main(["ci", "experiment", "plan", "--event", str(event), "--event-name", "issue_comment", "--no-post",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["action"] == "none" and "expected a number >= 1" in out["replies"][0]


def test_run_from_comment_answers_without_running_when_nothing_may_run(params_repo: Path) -> None:
    reply = run_from_comment(params_repo, "/experiment seed=1", association="NONE")
    assert "Nothing was run" in reply
    reply = run_from_comment(params_repo, "/experiment seed=-1")
    assert "seed = -1 is invalid" in reply
