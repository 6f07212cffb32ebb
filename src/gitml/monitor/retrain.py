"""Retraining on drift: a branch that moves the data version, and a pull request, so the pull-request loop
retrains the model and reports on it.

The configured command ([tool.gitml.monitor.retrain].command, e.g. `dvc update data/raw.dvc`) runs in a
temporary worktree of the base branch; its changes are committed to the retrain branch, which is pushed, and a
pull request is opened unless one is already open for that branch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from gitml.config import RetrainConfig
from gitml.errors import GitmlError
from gitml.forge.github import GitHubClient
from gitml.proc import git, run


def _open_pr(client: GitHubClient, repo: str, branch: str) -> dict[str, Any] | None:
    owner = repo.split("/")[0]
    pulls = client.get(f"/repos/{repo}/pulls", params={"state": "open", "head": f"{owner}:{branch}"})
    return pulls[0] if isinstance(pulls, list) and pulls else None


def open_retrain_pr(
    root: str | os.PathLike[str],
    client: GitHubClient,
    repo: str,
    cfg: RetrainConfig,
    *,
    remote: str = "origin",
    issue: int | None = None,
    reason: str = "",
) -> dict[str, Any]:
    if not cfg.enabled:
        return {"action": "disabled", "note": "set [tool.gitml.monitor.retrain].enabled = true to open retraining PRs"}
    if not repo or "/" not in repo:
        raise GitmlError(f"invalid GitHub repository {repo!r}", hint="pass --github-repo OWNER/NAME")
    existing = _open_pr(client, repo, cfg.branch)
    if existing is not None:
        return {"action": "exists", "number": existing.get("number"), "url": existing.get("html_url"), "branch": cfg.branch}
    run(["git", "fetch", "--quiet", "--", remote, f"+refs/heads/{cfg.base}:refs/remotes/{remote}/{cfg.base}"], cwd=root,
        hint=f"check that {remote} is reachable and has branch {cfg.base}")
    work = Path(tempfile.mkdtemp(prefix="gitml-retrain-"))
    tree = work / "tree"
    try:
        git("worktree", "add", "--quiet", "-B", cfg.branch, str(tree), f"{remote}/{cfg.base}", cwd=root)
        env = {**os.environ, "GITML_RETRAIN_REASON": reason, "GITML_RETRAIN_ISSUE": str(issue or "")}
        proc = subprocess.run(cfg.command, shell=True, cwd=tree, env=env, text=True, capture_output=True, check=False)  # noqa: S602 - the project's own command
        if proc.returncode != 0:
            said = (proc.stderr or proc.stdout).strip().splitlines()
            raise GitmlError(f"the retrain command failed with exit code {proc.returncode}: {said[-1] if said else cfg.command}",
                             hint="fix [tool.gitml.monitor.retrain].command")
        git("add", "-A", cwd=tree)
        if not git("status", "--porcelain", cwd=tree):
            return {"action": "unchanged", "note": f"`{cfg.command}` changed nothing: no new data version to retrain on"}
        subject = "Retrain: move the data version after drift" + (f" (#{issue})" if issue else "")
        git("commit", "--quiet", "-m", subject, "-m", reason or "Opened by gitml monitor retrain.", cwd=tree)
        run(["git", "push", "--force", "--quiet", "--", remote, f"HEAD:refs/heads/{cfg.branch}"], cwd=tree,
            hint=f"the job needs `contents: write` and a checkout that may push to {remote}")
        body = (f"Drift was detected{f' (#{issue})' if issue else ''}; this branch moves the data version with "
                f"`{cfg.command}`, so the pull-request loop retrains the model and reports the metrics.\n\n{reason}").strip()
        made = client.post(f"/repos/{repo}/pulls", {"title": subject, "head": cfg.branch, "base": cfg.base, "body": body},
                           expected=(201,))
        return {"action": "created", "number": made.get("number"), "url": made.get("html_url"), "branch": cfg.branch,
                "commit": git("rev-parse", "HEAD", cwd=tree)}
    finally:
        run(["git", "worktree", "remove", "--force", str(tree)], cwd=root, check=False)
        shutil.rmtree(work, ignore_errors=True)
