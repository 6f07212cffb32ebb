"""Helpers of the experiment tests: a stateful fake issue on the GitHub stub, event payloads, the issue form."""

from __future__ import annotations

import itertools
import urllib.parse
from typing import Any

from github_stub import Answer, Call, GitHubStub
from pr_fakes import FakePullRequest
from testkit import git

__all__ = ["FORM_BODY", "FakeIssue", "comment_event", "git", "label_event"]


class FakeIssue(FakePullRequest):
    """An issue: comments (sticky or not, from FakePullRequest), labels, pull requests and workflow runs."""

    def __init__(self, gh: GitHubStub, repo: str, number: int) -> None:
        super().__init__(gh, repo, number)
        self.pulls: list[dict[str, Any]] = []
        self.runs: list[dict[str, Any]] = []
        self.cancelled: list[int] = []
        self._pr_numbers = itertools.count(50)
        base = f"/repos/{repo}/issues/{number}/labels"
        gh.add("GET", base, handler=lambda call: Answer(200, [{"name": n} for n in self.labels]))
        gh.add("POST", base, handler=self._add_labels)
        gh.add("GET", f"/repos/{repo}/pulls", handler=self._list_pulls)
        gh.add("POST", f"/repos/{repo}/pulls", handler=self._create_pull)

    def _add_labels(self, call: Call) -> Answer:
        for name in call.json["labels"]:
            if name not in self.labels:
                self.labels.append(name)
                self.gh.add("DELETE", f"/repos/{self.repo}/issues/{self.number}/labels/"
                            f"{urllib.parse.quote(name, safe='')}", handler=self._unlabel)
        return Answer(200, [{"name": n} for n in self.labels])

    def _unlabel(self, call: Call) -> Answer:
        label = urllib.parse.unquote(call.path.rsplit("/", 1)[1])
        if label not in self.labels:
            return Answer(404, {"message": "Label does not exist"})
        self.labels.remove(label)
        return Answer(200, [{"name": n} for n in self.labels])

    def _list_pulls(self, call: Call) -> Answer:
        head = (call.query.get("head") or [""])[0]
        owner = self.repo.split("/")[0]
        found = [p for p in self.pulls if f"{owner}:{p['head']}" == head and p["state"] == "open"]
        return Answer(200, found)

    def _create_pull(self, call: Call) -> Answer:
        number = next(self._pr_numbers)
        pull = {**call.json, "number": number, "state": "open",
                "html_url": f"https://github.com/{self.repo}/pull/{number}"}
        self.pulls.append(pull)
        return Answer(201, pull)

    def add_workflow_runs(self, workflow_id: int, runs: list[dict[str, Any]]) -> None:
        """GET .../actions/runs/ID answers each run; the workflow's run list filters by ?status=."""
        self.runs = runs
        for run in runs:
            self.gh.add("GET", f"/repos/{self.repo}/actions/runs/{run['id']}",
                        json={**run, "workflow_id": workflow_id})
            self.gh.add("POST", f"/repos/{self.repo}/actions/runs/{run['id']}/cancel", handler=self._cancel)

        def listing(call: Call) -> Answer:
            status = (call.query.get("status") or [""])[0]
            return Answer(200, {"total_count": len(self.runs),
                                "workflow_runs": [r for r in self.runs if r["status"] == status]})

        self.gh.add("GET", f"/repos/{self.repo}/actions/workflows/{workflow_id}/runs", handler=listing)

    def _cancel(self, call: Call) -> Answer:
        self.cancelled.append(int(call.path.split("/")[-2]))
        return Answer(202, {})

    @property
    def bodies(self) -> list[str]:
        return [c["body"] for c in self.comments]


def comment_event(body: str, *, number: int = 7, association: str = "MEMBER", login: str = "alice",
                  issue_body: str = "", pull_request: bool = False) -> dict[str, Any]:
    issue: dict[str, Any] = {"number": number, "title": "Try deeper trees", "body": issue_body, "labels": []}
    if pull_request:
        issue["pull_request"] = {"url": "https://api.github.com/repos/o/r/pulls/7"}
    return {"action": "created", "issue": issue,
            "comment": {"id": 99, "body": body, "author_association": association, "user": {"login": login}},
            "repository": {"full_name": "o/r", "name": "r", "owner": {"login": "o"}, "default_branch": "main"},
            "sender": {"login": login}}


def label_event(issue_body: str, *, number: int = 7, label: str = "experiment") -> dict[str, Any]:
    return {"action": "labeled", "label": {"name": label},
            "issue": {"number": number, "title": "Experiment: scaler", "body": issue_body,
                      "labels": [{"name": label}]},
            "repository": {"full_name": "o/r", "name": "r", "owner": {"login": "o"}, "default_branch": "main"},
            "sender": {"login": "maintainer"}}


FORM_BODY = """### Hypothesis

A robust scaler resists the outliers in the texture features.

### Param overrides

```text
featurize.scaler=robust
```

### Grid

```text
evaluate.threshold=0.3,0.4
```

### Base ref

main
"""
