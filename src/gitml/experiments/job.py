"""The steps of the experiment workflow, one function each (`gitml ci experiment plan|run|collect|promote|cancel`).

plan      read the event; honour only OWNER/MEMBER/COLLABORATOR; parse and validate every variant
          against the params schema; answer errors on the issue; label `experiment:running`; say
          what runs in the sticky results comment; hand the plan and the matrix to the next jobs
run       one variant on a GPU runner (gitml.experiments.run)
collect   every experiment of the issue against its base; the sticky results comment; done/failed label
promote   `dvc exp branch`, push, pull request (gitml.experiments.promote)
cancel    cancel the issue's queued and running experiment workflow runs through the REST API
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml import config as config_mod
from gitml.errors import GitmlError
from gitml.experiments import collect as collect_mod
from gitml.experiments import grammar
from gitml.experiments import issue as issue_mod
from gitml.experiments import plan as plan_mod
from gitml.experiments import promote as promote_mod
from gitml.experiments import results as results_mod
from gitml.forge import comment as comment_mod
from gitml.forge.github import GitHubClient, token_from_env

ACTIONS = ("none", "run", "promote", "cancel")
_TOKEN_HINT = "set GITHUB_TOKEN (the workflow's token with issues: write)"


def client_from_env(env: Mapping[str, str] | None = None) -> GitHubClient:
    env = os.environ if env is None else env
    return GitHubClient(token_from_env(env=env), api_url=env.get("GITHUB_API_URL") or None, token_hint=_TOKEN_HINT)


def run_title(issue: int) -> str:
    """The workflow's `run-name` for an issue: how `cancel` finds the issue's runs."""
    return f"experiment #{issue}"


@dataclass
class PlanOutcome:
    action: str  # none | run | promote | cancel
    issue: int | None = None
    plan: plan_mod.Plan | None = None
    name: str | None = None  # promote: the experiment
    reason: str = ""  # why nothing runs (action none)
    replies: list[str] = field(default_factory=list)  # comments posted (or that would be)
    sticky: str | None = None  # the running comment

    def outputs(self) -> dict[str, str]:
        """The step outputs the next jobs read."""
        import json

        return {"action": self.action, "issue": str(self.issue or ""), "name": self.name or "",
                "plan": self.plan.to_json() if self.plan else "",
                "matrix": json.dumps(self.plan.matrix() if self.plan else {"name": []}, separators=(",", ":"))}

    def as_dict(self) -> dict[str, Any]:
        return {"version": 1, "action": self.action, "issue": self.issue, "name": self.name, "reason": self.reason,
                "plan": self.plan.as_dict() if self.plan else None, "replies": self.replies}


class _Issue:
    """Talks to one issue; with no client (a dry run), records what it would have said."""

    def __init__(self, client: GitHubClient | None, repo: str | None, number: int, cfg: config_mod.Config) -> None:
        self.client, self.repo, self.number, self.cfg = client, repo, number, cfg

    @property
    def live(self) -> bool:
        return bool(self.client is not None and self.repo)

    def reply(self, outcome: PlanOutcome | None, body: str) -> None:
        if outcome is not None:
            outcome.replies.append(body)
        if self.live:
            issue_mod.reply(self.client, self.repo, self.number, body)  # type: ignore[arg-type]

    def state(self, state: str) -> None:
        if self.live:
            issue_mod.set_state(self.client, self.repo, self.number, state)  # type: ignore[arg-type]

    def sticky(self, body: str, sha: str) -> comment_mod.Posted | None:
        if not self.live:
            return None
        watermark = comment_mod.Watermark(self.cfg.experiment.watermark, sha)
        return comment_mod.post_native(self.client, self.repo, self.number, body, watermark)  # type: ignore[arg-type]


def plan_job(root: str | Path, event: Mapping[str, Any], event_name: str, *, github_repo: str | None = None,
             client: GitHubClient | None = None, run_url: str | None = None, remote: str | None = "origin",
             env: Mapping[str, str] | None = None) -> PlanOutcome:
    """Decide what the event asks for; for a run, validate and name every variant before anything runs."""
    cfg = config_mod.load(root)
    request = issue_mod.from_event(event, event_name, label=cfg.experiment.label, repository=github_repo)
    repo = github_repo or request.repository
    target = _Issue(client, repo, request.issue, cfg)
    outcome = PlanOutcome("none", request.issue)
    if request.is_pull_request:
        outcome.reason = "a pull-request comment (experiments run from issues)"
        return outcome
    if request.command is None and request.error is None:
        outcome.reason = "no /experiment command and no experiment label"
        return outcome
    if not request.trusted:
        outcome.reason = f"{request.actor or 'the author'} is {request.association or 'NONE'}, not a collaborator"
        target.reply(outcome, issue_mod.untrusted_reply(request.actor, request.association))
        return outcome
    if request.error is not None:
        outcome.reason = str(request.error)
        target.reply(outcome, issue_mod.error_reply(request.command_text, request.error))
        return outcome
    command = request.command
    if command is None:  # unreachable: no command means an error, answered above
        return outcome
    if command.action == "help":
        outcome.reason = "help"
        target.reply(outcome, f"Usage: {grammar.USAGE}.")
        return outcome
    if command.action in ("cancel", "promote"):
        outcome.action, outcome.name = command.action, command.name
        return outcome
    try:
        outcome.plan = _make_plan(cfg, request, command, remote=remote, env=env)
    except GitmlError as exc:
        outcome.reason = str(exc)
        target.reply(outcome, issue_mod.error_reply(request.command_text or "the experiment issue form", exc))
        return outcome
    outcome.action = "run"
    outcome.sticky = results_mod.render_running(outcome.plan, run_url=run_url)
    target.state("running")
    target.sticky(outcome.sticky, outcome.plan.base_sha)
    return outcome


def _make_plan(cfg: config_mod.Config, request: issue_mod.Request, command: grammar.Command, *,
               remote: str | None, env: Mapping[str, str] | None) -> plan_mod.Plan:
    form: issue_mod.FormRequest | None = None
    if not command.overrides:
        form = issue_mod.parse_form(request.issue_body)  # the issue form's experiment (label, or a bare /experiment)
    else:
        try:
            form = issue_mod.parse_form(request.issue_body)
        except GitmlError:
            form = None  # a free-text issue: the comment alone says what to run
    overrides = command.overrides or (form.overrides if form else ())
    base = command.base or (form.base if form else None) or request.default_branch
    text = request.command_text or results_mod.command_text(overrides)
    return plan_mod.make_plan(cfg.root, request.issue, overrides, base=base, hypothesis=form.hypothesis if form else "",
                              command=text, remote=remote, cfg=cfg, env=dict(env) if env is not None else None)


@dataclass
class CollectOutcome:
    collection: collect_mod.Collection
    markdown: str
    posted: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**self.collection.as_dict(), "posted": self.posted}


def collect_job(root: str | Path, issue: int, *, plan: plan_mod.Plan | None = None, github_repo: str | None = None,
                client: GitHubClient | None = None, run_url: str | None = None, remote: str | None = "origin",
                env: Mapping[str, str] | None = None, results: str | Path | None = None) -> CollectOutcome:
    """Every experiment of the issue against its base; update the sticky results comment and the state label."""
    cfg = config_mod.load(root)
    collection = collect_mod.collect(cfg.root, issue, plan=plan, remote=remote, env=env, cfg=cfg, results=results)
    body = results_mod.render(collection, run_url=run_url, gate_metrics=list(cfg.gate.metrics))
    target = _Issue(client, github_repo, issue, cfg)
    sha = (plan.base_sha if plan else None) or next((e.baseline for e in collection.experiments if e.baseline), "0")
    posted = target.sticky(body, sha)
    target.state(collection.state)
    return CollectOutcome(collection, body, posted.as_dict() if posted else None)


def promote_job(root: str | Path, name: str, issue: int, *, github_repo: str | None, client: GitHubClient | None,
                base: str = "main", remote: str = "origin", env: Mapping[str, str] | None = None,
                ) -> promote_mod.Promoted:
    """Promote and answer on the issue; a failure is answered too, then raised."""
    cfg = config_mod.load(root)
    target = _Issue(client, github_repo, issue, cfg)
    try:
        result = promote_mod.promote(cfg.root, name, issue=issue, github_repo=github_repo, client=client, base=base,
                                     remote=remote, env=env, cfg=cfg)
    except GitmlError as exc:
        target.reply(None, issue_mod.error_reply(f"/experiment promote {name}", exc))
        raise
    target.reply(None, promote_mod.render_reply(result, issue))
    return result


def cancel_job(client: GitHubClient, github_repo: str, issue: int, *, run_id: int, cfg: config_mod.Config | None = None,
               ) -> list[dict[str, Any]]:
    """Cancel this workflow's queued and running runs for the issue (not this one); answer and label the issue."""
    cfg = cfg or config_mod.load(".")
    current = client.get(f"/repos/{github_repo}/actions/runs/{run_id}") or {}
    workflow = current.get("workflow_id")
    if not workflow:
        raise GitmlError(f"cannot find the workflow of run {run_id}", hint="run cancel inside the experiment workflow")
    title = run_title(issue)
    cancelled: list[dict[str, Any]] = []
    seen: set[int] = set()
    for status in ("queued", "in_progress", "waiting", "pending", "requested"):
        for found in client.paginate(f"/repos/{github_repo}/actions/workflows/{workflow}/runs",
                                     params={"status": status}, item_key="workflow_runs"):
            rid = int(found.get("id") or 0)
            if rid in seen or rid == int(run_id) or found.get("display_title") != title:
                continue
            seen.add(rid)
            client.post(f"/repos/{github_repo}/actions/runs/{rid}/cancel", expected=(202,))
            cancelled.append({"id": rid, "html_url": found.get("html_url")})
    target = _Issue(client, github_repo, issue, cfg)
    target.reply(None, results_mod.render_cancelled(issue, cancelled))
    if cancelled:
        target.state("cancelled")
    return cancelled
