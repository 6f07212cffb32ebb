"""The drift issue is opened once and then updated; the retraining PR is opened once (against the local GitHub stand-in)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from github_stub import Answer, Call, GitHubStub

from gitml.cli import main
from gitml.config import RetrainConfig
from gitml.forge.github import GitHubClient
from gitml.monitor import issue as issue_mod
from gitml.monitor.retrain import open_retrain_pr

REPO = "acme/churn"


class Issues:
    """A stateful stand-in for the issues endpoints."""

    def __init__(self, stub: GitHubStub) -> None:
        self.items: list[dict[str, Any]] = [
            {"number": 1, "title": "unrelated drift chat", "body": "no marker here", "labels": [{"name": "drift"}], "state": "open"},
            {"number": 2, "title": "a PR", "body": issue_mod.marker("model"), "pull_request": {}, "state": "open"},
        ]
        stub.add("GET", f"/repos/{REPO}/issues", handler=self.list)
        stub.add("POST", f"/repos/{REPO}/issues", handler=self.create)
        for n in range(1, 10):
            stub.add("PATCH", f"/repos/{REPO}/issues/{n}", handler=self.update)

    def list(self, call: Call) -> Answer:
        assert call.query["state"] == ["open"] and call.query["labels"] == ["drift"]
        return Answer(200, [i for i in self.items if i["state"] == "open"])

    def create(self, call: Call) -> Answer:
        body = call.json
        item = {"number": len(self.items) + 1, "state": "open", "html_url": f"https://github.com/{REPO}/issues/{len(self.items) + 1}",
                "labels": [{"name": x} for x in body["labels"]], **body}
        self.items.append(item)
        return Answer(201, item)

    def update(self, call: Call) -> Answer:
        n = int(call.path.rsplit("/", 1)[1])
        item = next(i for i in self.items if i["number"] == n)
        item.update(call.json)
        return Answer(200, item)


def _reports(folder: Path, breach: bool, summary: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "drift.json").write_text(json.dumps({"version": 1, "breach": breach, "summary": summary}))
    (folder / "drift.md").write_text(f"## Drift\n\n{summary}\n")
    return folder


def test_drift_issue_is_opened_once_then_updated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    with GitHubStub() as gh:
        issues = Issues(gh)
        monkeypatch.setenv("GITHUB_API_URL", gh.url)
        monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
        out = tmp_path / "github_output"
        monkeypatch.setenv("GITHUB_OUTPUT", str(out))
        calm = _reports(tmp_path / "calm", False, "0 of 30 features drifted")
        assert main(["monitor", "issue", "model", "-C", str(tmp_path), "--reports", str(calm), "--github-repo", REPO]) == 0
        assert gh.calls_to("POST", f"/repos/{REPO}/issues") == []
        assert "no breach" in capsys.readouterr().out
        first = _reports(tmp_path / "r1", True, "1 of 30 features drifted (mean_texture)")
        assert main(["monitor", "issue", "model", "-C", str(tmp_path), "--reports", str(first), "--github-repo", REPO, "--json"]) == 0
        created = json.loads(capsys.readouterr().out)
        assert created["action"] == "created" and created["number"] == 3
        second = _reports(tmp_path / "r2", True, "2 of 30 features drifted (mean_texture, worst_area)")
        assert main(["monitor", "issue", "model", "-C", str(tmp_path), "--reports", str(second), "--github-repo", REPO]) == 0
        text = capsys.readouterr().out
    assert "updated drift issue #3" in text
    posts = gh.calls_to("POST", f"/repos/{REPO}/issues")
    assert len(posts) == 1, "a second run must update the open issue, never open another"
    assert posts[0].json["labels"] == ["drift"] and posts[0].json["title"] == "Drift detected: model"
    assert [c.path for c in gh.calls if c.method == "PATCH"] == [f"/repos/{REPO}/issues/3"]
    open_drift = [i for i in issues.items if i["state"] == "open" and issue_mod.marker("model") in i["body"] and "pull_request" not in i]
    assert len(open_drift) == 1 and "worst_area" in open_drift[0]["body"]
    assert all(c.headers["authorization"] == "Bearer t0ken" for c in gh.calls)
    assert "breach=true\nissue=3" in out.read_text() and "breach=false" in out.read_text()


def test_a_closed_issue_is_not_reused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with GitHubStub() as gh:
        issues = Issues(gh)
        client = GitHubClient("t", api_url=gh.url)
        first = issue_mod.report(client, REPO, "model", _reports(tmp_path / "a", True, "drift"))
        issues.items[-1]["state"] = "closed"
        second = issue_mod.report(client, REPO, "model", _reports(tmp_path / "b", True, "drift again"))
    assert (first["action"], second["action"]) == ("created", "created") and second["number"] != first["number"]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, text=True, capture_output=True).stdout.strip()


def test_retraining_opens_one_pull_request_on_a_branch_that_moves_the_data(git_repo: Path, tmp_path: Path) -> None:
    (git_repo / "data.dvc").write_text("outs:\n- md5: aaa\n  path: data\n")
    _git(git_repo, "add", "data.dvc")
    _git(git_repo, "commit", "-qm", "data v1")
    origin = tmp_path / "origin.git"
    _git(tmp_path, "clone", "-q", "--bare", str(git_repo), str(origin))
    _git(git_repo, "remote", "add", "origin", str(origin))
    cfg = RetrainConfig(enabled=True, command="sed -i s/aaa/bbb/ data.dvc", branch="gitml/retrain", base="main")
    with GitHubStub() as gh:
        gh.add("GET", f"/repos/{REPO}/pulls", json=[])
        gh.add("GET", f"/repos/{REPO}/pulls", json=[{"number": 9, "html_url": "https://github.com/acme/churn/pull/9"}])
        gh.add("POST", f"/repos/{REPO}/pulls", status=201, json={"number": 9, "html_url": "https://github.com/acme/churn/pull/9"})
        client = GitHubClient("t", api_url=gh.url)
        made = open_retrain_pr(git_repo, client, REPO, cfg, issue=3, reason="mean_texture drifted")
        again = open_retrain_pr(git_repo, client, REPO, cfg, issue=3)
    assert made["action"] == "created" and made["number"] == 9
    assert again["action"] == "exists"
    (post,) = gh.calls_to("POST", f"/repos/{REPO}/pulls")
    assert post.json["head"] == "gitml/retrain" and post.json["base"] == "main" and "#3" in post.json["title"]
    assert gh.calls_to("GET", f"/repos/{REPO}/pulls")[0].query["head"] == ["acme:gitml/retrain"]
    assert "md5: bbb" in _git(origin, "show", "gitml/retrain:data.dvc")
    assert _git(origin, "rev-parse", "gitml/retrain^") == _git(git_repo, "rev-parse", "main")
    assert _git(git_repo, "worktree", "list").count("\n") == 0  # the temporary worktree is gone
    assert (git_repo / "data.dvc").read_text().count("aaa") == 1  # the caller's checkout is untouched


def test_retraining_is_off_unless_configured(git_repo: Path) -> None:
    result = open_retrain_pr(git_repo, GitHubClient("t", api_url="http://127.0.0.1:9"), REPO, RetrainConfig())
    assert result["action"] == "disabled"
