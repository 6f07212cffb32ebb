"""Commit statuses and PR labels through the REST client."""

from __future__ import annotations

import urllib.parse
from typing import Any

from gitml.forge.github import GitHubClient, GitHubError

STATES = ("success", "failure", "error", "pending")


def set_status(client: GitHubClient, repo: str, sha: str, *, state: str, context: str, description: str,
               target_url: str | None = None) -> dict[str, Any]:
    """POST a commit status (description cut to GitHub's 140 characters)."""
    if state not in STATES:
        raise ValueError(f"state must be one of {STATES}")
    desc = description if len(description) <= 140 else description[:139] + "…"
    body = {"state": state, "context": context, "description": desc}
    if target_url:
        body["target_url"] = target_url
    return client.post(f"/repos/{repo}/statuses/{sha}", body, expected=(201,)) or {}


def remove_label(client: GitHubClient, repo: str, number: int, label: str) -> bool:
    """Remove a label from an issue or PR; False when it was not there."""
    try:
        client.delete(f"/repos/{repo}/issues/{number}/labels/{urllib.parse.quote(label, safe='')}")
    except GitHubError as exc:
        if exc.status == 404:
            return False
        raise
    return True
