"""`/experiment promote issue-12-3`: a branch from the experiment, pushed, and a pull request linked to the issue.

`dvc exp branch NAME exp/NAME` makes the branch from the experiment's commit (its params.yaml and
dvc.lock); its outputs are already in the DVC remote, so the pull-request job restores every
stage from the run cache instead of retraining. The PR body says `Closes #N`.

A pull request opened with the workflow's own GITHUB_TOKEN starts no workflow (GitHub's rule
against recursive runs): give the promote job a GitHub App or fine-grained token
(`GITML_PROMOTE_TOKEN`) for the pull-request loop to take over by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitml import config as config_mod
from gitml.errors import GitmlError
from gitml.experiments import collect as collect_mod
from gitml.experiments import grammar
from gitml.experiments.run import exp_ref
from gitml.forge.gitauth import git_auth
from gitml.forge.github import GitHubClient
from gitml.proc import dvc, git, run


@dataclass
class Promoted:
    name: str
    branch: str
    sha: str
    base: str
    pull_request: dict[str, Any] | None
    existing: bool = False  # an open PR from this branch was already there

    @property
    def url(self) -> str | None:
        return (self.pull_request or {}).get("html_url")

    def as_dict(self) -> dict[str, Any]:
        return {"version": 1, "name": self.name, "branch": self.branch, "sha": self.sha, "base": self.base,
                "pull_request": {k: (self.pull_request or {}).get(k) for k in ("number", "html_url")},
                "existing": self.existing}


def pr_body(name: str, issue: int, experiment: collect_mod.Experiment | None) -> str:
    lines = [f"Promotes experiment `{name}` from #{issue} (made with `dvc exp branch`).", ""]
    if experiment is not None:
        if experiment.params:
            lines += ["| param | base | experiment |", "|---|---|---|"]
            lines += [f"| {r['key']} | `{grammar.format_value(r['base'])}` | `{grammar.format_value(r['pr'])}` |"
                      for r in experiment.params]
            lines.append("")
        shown = [r for r in experiment.metrics if r["pr"] is not None]
        if shown:
            lines += ["| metric | base | experiment |", "|---|---:|---:|"]
            lines += [f"| {r['name']} | {r['base'] if r['base'] is not None else '—'} | {r['pr']} |" for r in shown]
            lines.append("")
    lines += ["Its outputs are in the DVC remote: the pull-request job restores them from the run cache.", "",
              f"Closes #{issue}"]
    return "\n".join(lines)


def promote(root: str | Path, name: str, *, issue: int, github_repo: str | None, client: GitHubClient | None,
            base: str = "main", remote: str = "origin", fetch: bool = True, env: Mapping[str, str] | None = None,
            cfg: config_mod.Config | None = None) -> Promoted:
    """Branch, push and open (or find) the pull request. client=None: branch and push only."""
    cfg = cfg or config_mod.load(root)
    root = cfg.root
    if not grammar.NAME.fullmatch(name):
        raise grammar.OverrideError(f"{name!r} is not an experiment name", hint="e.g. /experiment promote issue-12-3")
    grammar.check_ref(base)
    if fetch:
        collect_mod.fetch(root, remote=remote, env=env)
    found = exp_ref(root, name)
    if found is None:
        raise GitmlError(f"there is no experiment {name!r} in the Git remote",
                         hint="the results comment lists the experiments that finished")
    sha = found[1]
    branch = f"{cfg.experiment.branch_prefix}{name}"
    grammar.check_ref(branch)
    existing_sha = git("rev-parse", "--verify", "-q", f"refs/heads/{branch}", cwd=root, check=False)
    if existing_sha and existing_sha != sha:
        raise GitmlError(f"branch {branch} already exists at another commit", hint=f"delete it: git branch -D {branch}")
    if not existing_sha:
        dvc("exp", "branch", name, branch, cwd=root)
    with git_auth(env) as auth_env:
        run(["git", "push", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}"], cwd=root, env=auth_env,
            hint=f"the job needs contents: write to push {branch}")
    result = Promoted(name, branch, sha, base, None)
    if client is None or not github_repo:
        return result
    owner = github_repo.split("/", 1)[0]
    open_prs = list(client.paginate(f"/repos/{github_repo}/pulls", params={"head": f"{owner}:{branch}", "state": "open"}))
    if open_prs:
        result.pull_request, result.existing = open_prs[0], True
        return result
    experiment = next((e for e in collect_mod.collect(root, issue, remote=None, cfg=cfg).experiments
                       if e.name == name), None)
    result.pull_request = client.post(f"/repos/{github_repo}/pulls", {
        "title": f"Experiment {name} (#{issue})", "head": branch, "base": base,
        "body": pr_body(name, issue, experiment), "maintainer_can_modify": True,
    }, expected=(201,))
    return result


def render_reply(result: Promoted, issue: int) -> str:
    if result.url:
        verb = "is already open" if result.existing else "is open"
        return (f"🚀 Promoted `{result.name}`: pull request {result.url} {verb} from branch `{result.branch}` "
                f"into `{result.base}`. The pull-request loop takes it from here; merging it closes #{issue}.")
    return f"🚀 Promoted `{result.name}` to branch `{result.branch}` ({result.sha[:8]})."
