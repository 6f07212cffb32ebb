"""The experiment loop on one machine: a simulated `/experiment` issue comment in a sandbox clone.

The clone is one made by `gitml.sandbox` (a bare origin, a local DVC remote). The comment goes
through exactly the jobs the workflow runs (plan, one run per variant, collect), with no
GitHub: the results comment is returned instead of posted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gitml import dvcrepo
from gitml.errors import GitmlError
from gitml.experiments import job
from gitml.experiments import run as run_mod
from gitml.proc import git

DEFAULT_COMMENT = "/experiment train.random_forest.n_estimators=25,50,100"


def comment_event(comment: str, *, issue: int = 1, association: str = "MEMBER", author: str = "sandbox",
                  title: str = "Experiment", body: str = "", repository: str = "sandbox/project",
                  default_branch: str = "main") -> dict[str, Any]:
    """An `issue_comment` event payload as GitHub sends it (the fields the jobs read)."""
    return {
        "action": "created",
        "issue": {"number": issue, "title": title, "body": body, "labels": []},
        "comment": {"id": 1, "body": comment, "author_association": association, "user": {"login": author}},
        "repository": {"full_name": repository, "default_branch": default_branch},
        "sender": {"login": author},
    }


def run_from_comment(sandbox_clone: str | Path, comment: str = DEFAULT_COMMENT, *, issue: int = 1,
                     association: str = "MEMBER", echo: bool = False) -> str:
    """Plan, run every variant (`dvc exp run`, `dvc exp push origin`) and collect; return the results comment Markdown.

    The clone's branch is left as it was; the experiments stay in its origin (refs/exps) and DVC remote.
    A comment that runs nothing (not a collaborator, a bad value) returns the reply it would get.
    """
    clone = Path(sandbox_clone)
    event = comment_event(comment, issue=issue, association=association)
    outcome = job.plan_job(clone, event, "issue_comment", client=None, remote="origin")
    if outcome.action != "run" or outcome.plan is None:
        return "\n\n".join(outcome.replies) or f"Nothing to run: {outcome.reason or outcome.action}"
    plan = outcome.plan
    if git("status", "--porcelain", "--untracked-files=no", cwd=clone):
        raise GitmlError(f"the sandbox clone {clone} has uncommitted changes", hint="commit or stash them")
    branch = git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=clone, check=False)
    previous = branch or git("rev-parse", "HEAD", cwd=clone)
    git("checkout", "--quiet", "--detach", plan.base_sha, cwd=clone)
    try:
        for variant in plan.variants:
            try:
                run_mod.run_variant(clone, plan, variant.name, push=True, remote="origin", echo=echo)
            except GitmlError as exc:  # collect reports it as failed, as the workflow's collect job would
                sys.stderr.write(f"{variant.name} failed: {exc}\n")
        result = job.collect_job(clone, issue, plan=plan, client=None, remote="origin")
    finally:
        git("checkout", "--quiet", previous, cwd=clone)
        dvcrepo.checkout(clone)
    return result.markdown
