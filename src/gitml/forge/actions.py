"""What a GitHub Actions job knows about itself: the repository, the pull request, the run, from the environment."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError


@dataclass(frozen=True)
class ActionsContext:
    repository: str | None  # owner/name
    event_name: str | None
    pr_number: int | None
    head_sha: str | None
    head_ref: str | None
    base_ref: str | None
    head_repo: str | None
    labels: tuple[str, ...]
    server_url: str
    run_id: str | None
    step_summary: Path | None

    @property
    def run_url(self) -> str | None:
        if self.repository and self.run_id:
            return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
        return None

    @property
    def artifacts_url(self) -> str | None:
        return f"{self.run_url}#artifacts" if self.run_url else None

    @property
    def is_fork(self) -> bool:
        return bool(self.head_repo and self.repository and self.head_repo != self.repository)


def _event(env: Mapping[str, str]) -> dict[str, Any]:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise GitmlError(f"cannot read the event payload {path}: {exc}") from exc


def from_env(env: Mapping[str, str] | None = None) -> ActionsContext:
    env = os.environ if env is None else env
    event = _event(env)
    pr = event.get("pull_request") or {}
    number = pr.get("number") or event.get("number")
    summary = env.get("GITHUB_STEP_SUMMARY")
    return ActionsContext(
        repository=env.get("GITHUB_REPOSITORY") or (event.get("repository") or {}).get("full_name"),
        event_name=env.get("GITHUB_EVENT_NAME"),
        pr_number=int(number) if number else None,
        head_sha=(pr.get("head") or {}).get("sha"),
        head_ref=(pr.get("head") or {}).get("ref") or env.get("GITHUB_HEAD_REF") or None,
        base_ref=(pr.get("base") or {}).get("ref") or env.get("GITHUB_BASE_REF") or None,
        head_repo=((pr.get("head") or {}).get("repo") or {}).get("full_name"),
        labels=tuple(str(lab.get("name")) for lab in pr.get("labels") or [] if isinstance(lab, dict)),
        server_url=(env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
        run_id=env.get("GITHUB_RUN_ID"),
        step_summary=Path(summary) if summary else None,
    )


def set_outputs(values: Mapping[str, str], env: Mapping[str, str] | None = None) -> Path | None:
    """Append step outputs to $GITHUB_OUTPUT (multi-line safe: a random heredoc delimiter); None outside Actions."""
    import secrets

    env = os.environ if env is None else env
    path = env.get("GITHUB_OUTPUT")
    if not path:
        return None
    with open(path, "a", encoding="utf-8") as fh:
        for key, value in values.items():
            delimiter = f"gitml_{secrets.token_hex(8)}"
            fh.write(f"{key}<<{delimiter}\n{value}\n{delimiter}\n")
    return Path(path)
