"""The drift issue: one open issue per monitored model, labelled `drift`, found again by label and a hidden marker.

On a breach the issue is opened, or, when one is already open, its body is replaced
with the new report: there is never a second open drift issue for the same model.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError
from gitml.fsutil import read_json
from gitml.forge.github import GitHubClient

MAX_BODY = 60000  # GitHub refuses issue bodies over 65536 characters


def marker(name: str) -> str:
    return f"<!-- gitml:monitor model={name} -->"


def find_open_issue(client: GitHubClient, repo: str, name: str, label: str = "drift") -> dict[str, Any] | None:
    """The open issue with our label whose body carries our marker (the oldest, if someone copied it)."""
    mark = marker(name)
    found = None
    for issue in client.paginate(f"/repos/{repo}/issues", params={"state": "open", "labels": label, "sort": "created",
                                                                    "direction": "asc"}):
        if "pull_request" in issue:
            continue
        if mark in str(issue.get("body") or ""):
            found = found or issue
    return found


def compose(name: str, reports_dir: str | os.PathLike[str], run_url: str | None = None) -> tuple[bool, str, str]:
    """(breach?, title, body) from the drift and performance reports in reports_dir."""
    folder = Path(reports_dir)
    parts: list[str] = []
    reasons: list[str] = []
    breach = False
    found = False
    for stem in ("drift", "performance"):
        js, md = folder / f"{stem}.json", folder / f"{stem}.md"
        if not js.exists():
            continue
        found = True
        result = read_json(js, invalid_hint="run `gitml monitor drift` again")
        if result.get("breach"):
            breach = True
            reasons.append(stem if stem != "drift" else f"drift ({result.get('summary', '')})")
        if md.exists():
            parts.append(md.read_text(encoding="utf-8"))
    if not found:
        raise GitmlError(f"no monitoring report in {folder}", hint="run `gitml monitor drift` (and `performance`) first")
    title = f"Drift detected: {name}"
    footer = [f"_Updated by gitml monitor{f' in [this run]({run_url})' if run_url else ''}. "
              "This issue is updated in place while it is open; close it once handled._", "", marker(name)]
    body = "\n\n".join(parts)
    room = MAX_BODY - sum(len(x) + 1 for x in footer) - 100
    if len(body) > room:
        body = body[:room] + "\n\n…(truncated; the full report is in the run's artifacts)"
    return breach, title, body + "\n\n" + "\n".join(footer) + "\n"


def open_or_update(client: GitHubClient, repo: str, name: str, title: str, body: str, *, label: str = "drift") -> dict[str, Any]:
    existing = find_open_issue(client, repo, name, label)
    if existing is None:
        made = client.post(f"/repos/{repo}/issues", {"title": title, "body": body, "labels": [label]}, expected=(201,))
        return {"action": "created", "number": made.get("number"), "url": made.get("html_url")}
    number = existing["number"]
    client.patch(f"/repos/{repo}/issues/{number}", {"body": body})
    return {"action": "updated", "number": number, "url": existing.get("html_url")}


def report(client: GitHubClient, repo: str, name: str, reports_dir: str | os.PathLike[str], *, label: str = "drift",
           run_url: str | None = None) -> dict[str, Any]:
    """Open or update the drift issue when the reports hold a breach; do nothing otherwise."""
    if not repo or "/" not in repo:
        raise GitmlError(f"invalid GitHub repository {repo!r}", hint="pass --github-repo OWNER/NAME (GITHUB_REPOSITORY in Actions)")
    breach, title, body = compose(name, reports_dir, run_url)
    if not breach:
        return {"action": "none", "breach": False, "number": None, "url": None}
    if not client.has_token:
        raise GitmlError("no GitHub token to open the drift issue", hint="set GITHUB_TOKEN (the job needs `issues: write`)")
    return {**open_or_update(client, repo, name, title, body, label=label), "breach": True}
