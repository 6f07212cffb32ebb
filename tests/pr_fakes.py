"""GitHub's issue-comment and status endpoints, stateful, on top of the GitHubStub server.

    with GitHubStub() as gh:
        fake = FakePullRequest(gh, "o/r", 7)
        fake.seed("alice", "a human comment")
        ... post ...
        assert fake.comments[-1]["body"].endswith(...)
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from github_stub import Answer, Call, GitHubStub


class FakePullRequest:
    def __init__(self, gh: GitHubStub, repo: str, number: int, *, per_page_limit: int = 2) -> None:
        self.gh, self.repo, self.number = gh, repo, number
        self.comments: list[dict[str, Any]] = []
        self.statuses: list[tuple[str, dict[str, Any]]] = []
        self.labels: list[str] = []
        self._ids = itertools.count(100)
        self.per_page_limit = per_page_limit  # small pages: pagination is exercised
        base = f"/repos/{repo}/issues/{number}"
        gh.add("GET", f"{base}/comments", handler=self._list)
        gh.add("POST", f"{base}/comments", handler=self._create)
        # commit statuses on any sha (the dvc.lock commit's sha is not known in advance)
        answer = gh._answer

        def answer_with_statuses(call: Call, query: str) -> Answer:
            if call.method == "POST" and call.path.startswith(f"/repos/{repo}/statuses/"):
                with gh._lock:
                    gh.calls.append(call)
                return self._status(call)
            return answer(call, query)

        gh._answer = answer_with_statuses  # type: ignore[method-assign]

    def seed(self, login: str, body: str, user_type: str = "User") -> dict[str, Any]:
        comment = {"id": next(self._ids), "body": body, "user": {"login": login, "type": user_type},
                   "html_url": f"https://github.com/{self.repo}/pull/{self.number}#issuecomment-x"}
        self.comments.append(comment)
        self.gh.add("PATCH", f"/repos/{self.repo}/issues/comments/{comment['id']}", handler=self._update)
        return comment

    def watch_label(self, label: str) -> None:
        self.labels.append(label)
        self.gh.add("DELETE", f"/repos/{self.repo}/issues/{self.number}/labels/{label}", handler=self._unlabel)

    # -- handlers ---------------------------------------------------------------

    def _list(self, call: Call) -> Answer:
        page = int((call.query.get("page") or ["1"])[0])
        size = self.per_page_limit
        items = self.comments[(page - 1) * size: page * size]
        headers = {}
        if page * size < len(self.comments):
            path = f"/repos/{self.repo}/issues/{self.number}/comments"
            headers["Link"] = f'<{{url}}{path}?per_page={size}&page={page + 1}>; rel="next"'
        return Answer(200, items, headers)

    def _create(self, call: Call) -> Answer:
        comment = self.seed("github-actions[bot]", call.json["body"], "Bot")
        return Answer(201, comment)

    def _update(self, call: Call) -> Answer:
        cid = int(call.path.rsplit("/", 1)[1])
        for comment in self.comments:
            if comment["id"] == cid:
                comment["body"] = call.json["body"]
                return Answer(200, comment)
        return Answer(404, {"message": "Not Found"})

    def _status(self, call: Call) -> Answer:
        self.statuses.append((call.path.rsplit("/", 1)[1], call.json))
        return Answer(201, {"id": len(self.statuses), **call.json})

    def _unlabel(self, call: Call) -> Answer:
        label = call.path.rsplit("/", 1)[1]
        if label not in self.labels:
            return Answer(404, {"message": "Label does not exist"})
        self.labels.remove(label)
        return Answer(200, [{"name": n} for n in self.labels])


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=1)
