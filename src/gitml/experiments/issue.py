"""What an experiment job reads from the GitHub event, who may ask, and the issue's state labels.

Triggers: an issue labelled `experiment` (its issue form holds the request), or an issue comment
whose first `/experiment` line is a command. Comments are honoured only from OWNER, MEMBER or
COLLABORATOR (`author_association`); labelling needs triage access on GitHub already.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError
from gitml.experiments import grammar
from gitml.forge.github import GitHubClient

TRUSTED = ("OWNER", "MEMBER", "COLLABORATOR")
STATES = ("running", "done", "failed", "cancelled")
# The issue form's field labels (.github/ISSUE_TEMPLATE/experiment.yml), as GitHub renders them: "### LABEL".
FORM_FIELDS = {"hypothesis": "Hypothesis", "overrides": "Param overrides", "grid": "Grid", "base": "Base ref"}
_NO_RESPONSE = "_No response_"


def state_label(state: str) -> str:
    if state not in STATES:
        raise ValueError(f"state must be one of {STATES}")
    return f"experiment:{state}"


def is_trusted(association: str | None) -> bool:
    return (association or "").upper() in TRUSTED


@dataclass(frozen=True)
class Request:
    """One trigger: the issue, who asked and what."""

    repository: str | None
    issue: int
    event: str  # issues | issue_comment
    actor: str
    association: str | None  # the comment author's association (None for a label)
    command: grammar.Command | None  # None: not an experiment request (another label, another comment)
    issue_title: str = ""
    issue_body: str = ""
    comment_id: int | None = None
    default_branch: str = "main"
    is_pull_request: bool = False
    labels: tuple[str, ...] = field(default_factory=tuple)
    error: GitmlError | None = None  # a malformed command (answered only when the author is trusted)
    command_text: str | None = None  # the `/experiment ...` line as written

    @property
    def trusted(self) -> bool:
        """A label is trusted (GitHub requires triage access to add one); a comment by its author's association."""
        return self.event == "issues" or is_trusted(self.association)


def read_event(path: str | Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise GitmlError(f"cannot read the event payload {path}: {exc}") from exc


def from_event(event: Mapping[str, Any], event_name: str, *, label: str = "experiment",
               repository: str | None = None) -> Request:
    """The request in an `issues` or `issue_comment` event. A malformed command raises OverrideError."""
    issue = event.get("issue") or {}
    if not issue.get("number"):
        raise GitmlError(f"the {event_name} event has no issue number", hint="run on issues or issue_comment events")
    repo = repository or (event.get("repository") or {}).get("full_name")
    common = {
        "repository": repo, "issue": int(issue["number"]), "event": event_name,
        "issue_title": str(issue.get("title") or ""), "issue_body": str(issue.get("body") or ""),
        "default_branch": str((event.get("repository") or {}).get("default_branch") or "main"),
        "is_pull_request": bool(issue.get("pull_request")),
        "labels": tuple(str(lab.get("name")) for lab in issue.get("labels") or [] if isinstance(lab, dict)),
    }
    if event_name == "issues":
        labelled = str((event.get("label") or {}).get("name") or "")
        command = grammar.Command("run") if event.get("action") == "labeled" and labelled == label else None
        return Request(actor=str((event.get("sender") or {}).get("login") or ""), association=None,
                       command=command, **common)
    if event_name == "issue_comment":
        comment = event.get("comment") or {}
        text = str(comment.get("body") or "")
        command, error = None, None
        from_bot = str((comment.get("user") or {}).get("type") or "") == "Bot"  # never answer a bot (no loops)
        line = grammar.command_line(text) if event.get("action", "created") == "created" and not from_bot else None
        if line is not None:
            try:
                command = grammar.parse_command(text)
            except grammar.OverrideError as exc:
                error = exc
        return Request(actor=str((comment.get("user") or {}).get("login") or ""),
                       association=comment.get("author_association"), command=command,
                       comment_id=comment.get("id"), error=error,
                       command_text=None if line is None else f"{grammar.COMMAND} {line}".strip(), **common)
    raise GitmlError(f"experiments run on issues and issue_comment events, not {event_name!r}")


# -- the issue form -----------------------------------------------------------


def form_fields(body: str) -> dict[str, str]:
    """The issue form's answers by key (hypothesis, overrides, grid, base); code fences and `_No response_` removed."""
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in (body or "").splitlines():
        m = re.match(r"^###\s+(.+?)\s*$", line)
        if m:
            current = m.group(1)
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    out: dict[str, str] = {}
    for key, label in FORM_FIELDS.items():
        lines = sections.get(label)
        if lines is None:
            continue
        text = "\n".join(lines).strip()
        fence = re.fullmatch(r"```[\w-]*\n(.*?)\n?```", text, flags=re.S)
        if fence:
            text = fence.group(1).strip()
        if text and text != _NO_RESPONSE:
            out[key] = text
    return out


@dataclass(frozen=True)
class FormRequest:
    hypothesis: str
    overrides: tuple[grammar.Override, ...]
    base: str | None


def parse_form(body: str) -> FormRequest:
    """The experiment the issue form describes: fixed overrides, then grid axes, and the base ref."""
    fields = form_fields(body)
    if "overrides" not in fields and "grid" not in fields:
        raise grammar.OverrideError(
            "the issue has no param overrides or grid",
            hint="fill in the experiment issue form's 'Param overrides' (one key=value a line, or YAML), "
                 "or comment `/experiment KEY=VALUE ...`",
        )
    fixed = grammar.parse_overrides(fields.get("overrides", ""), grid=False)
    axes = grammar.parse_overrides(fields.get("grid", ""), grid=True)
    base = grammar.check_ref(fields["base"]) if fields.get("base") else None
    return FormRequest(fields.get("hypothesis", ""), (*fixed, *axes), base)


# -- labels -------------------------------------------------------------------


def set_state(client: GitHubClient, repo: str, number: int, state: str) -> list[str]:
    """Put `experiment:STATE` on the issue and take the other state labels off; return the labels now set."""
    from gitml.forge import status as status_mod

    wanted = state_label(state)
    current = list(client.paginate(f"/repos/{repo}/issues/{number}/labels"))
    names = {str(lab.get("name")) for lab in current if isinstance(lab, dict)}
    for other in STATES:
        label = state_label(other)
        if label != wanted and label in names:
            status_mod.remove_label(client, repo, number, label)
    if wanted not in names:
        client.post(f"/repos/{repo}/issues/{number}/labels", {"labels": [wanted]})
    return sorted((names - {state_label(s) for s in STATES}) | {wanted})


def reply(client: GitHubClient, repo: str, number: int, body: str) -> dict[str, Any]:
    """A plain (not sticky) comment on the issue."""
    return client.post(f"/repos/{repo}/issues/{number}/comments", {"body": body}, expected=(201,)) or {}


def quote(text: str) -> str:
    return "\n".join("> " + line for line in text.strip().splitlines())


def untrusted_reply(actor: str, association: str | None) -> str:
    who = f"@{actor}" if actor else "there"
    return (f"Thanks for the suggestion, {who}! Experiments run on this project's GPU runners, so `/experiment` "
            f"commands are honoured only from the repository's owners, members and collaborators "
            f"(your association: {(association or 'NONE').lower()}). Nothing was run. A maintainer can run it "
            "by repeating the command, or by adding the `experiment` label to an issue filled in with the "
            "experiment form.")


def error_reply(command_text: str | None, error: GitmlError) -> str:
    said = quote(command_text) + "\n\n" if command_text else ""
    return (f"{said}❌ **Nothing was run:** {error.message}" + (f"\n\n💡 {error.hint}" if error.hint else "")
            + f"\n\nUsage: {grammar.USAGE}.")
