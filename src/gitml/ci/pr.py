"""`gitml ci pr`: the pull-request job, runnable by hand on any checkout.

1. find the merge-base with the base branch (deepening a shallow clone when needed);
2. reproduce with the run cache (`dvc repro --pull`: unchanged stages are restored, never
   retrained) and push outputs and run-cache entries to the DVC remote;
3. when dvc.lock changed, commit it to the PR branch as a bot and push it;
4. compare the work tree with the merge-base, judge it with the gate, write
   reports/pr/report.json, report.md and PNG figures, and the job summary;
5. post the sticky comment (CML or the native client) and the `gitml/gate` commit status
   (on the pushed dvc.lock commit too: a push made with the workflow token starts no run).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml import config as config_mod
from gitml import dvcrepo
from gitml import reproduce as reproduce_mod
from gitml.errors import GitmlError
from gitml.forge import actions
from gitml.fsutil import read_json, write_json_atomic, write_text_atomic
from gitml.proc import git, run
from gitml.report import compare, figures, markdown
from gitml.report.revision import Revision

BOT_NAME = "github-actions[bot]"
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"
REPORT_DIR = Path("reports/pr")


@dataclass
class PrResult:
    report: dict[str, Any]
    markdown: str
    paths: dict[str, str]
    merge_base: str | None
    lock_commit: str | None = None
    lock_pushed: bool = False
    posted: dict[str, Any] | None = None
    statuses: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def gate_passed(self) -> bool:
        return bool(self.report["gate"]["passed"])

    @property
    def should_fail(self) -> bool:
        return not self.gate_passed and bool(self.report["gate"]["fail_job"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": 1, "gate": self.report["gate"], "merge_base": self.merge_base, "paths": self.paths,
            "lock_commit": self.lock_commit, "lock_pushed": self.lock_pushed, "posted": self.posted,
            "statuses": self.statuses, "errors": self.errors, "stages": self.report["stages"],
            "seconds": self.seconds,
        }


# -- the merge-base -----------------------------------------------------------


def _resolve(root: Path, ref: str) -> str | None:
    for candidate in (f"refs/remotes/origin/{ref}", f"refs/heads/{ref}", ref):
        sha = git("rev-parse", "--verify", "-q", f"{candidate}^{{commit}}", cwd=root, check=False)
        if sha:
            return sha
    return None


def _merge_base(root: Path, base_sha: str) -> str | None:
    return git("merge-base", "HEAD", base_sha, cwd=root, check=False) or None


def merge_base(root: str | Path, base: str, *, fetch: bool = True) -> str:
    """The merge-base of HEAD with the base branch; fetches the branch and deepens a shallow clone when needed."""
    root = Path(root)
    has_origin = bool(git("remote", "get-url", "origin", cwd=root, check=False))
    refspec = f"+refs/heads/{base}:refs/remotes/origin/{base}"
    sha = _resolve(root, base)
    if sha is None and fetch and has_origin:
        run(["git", "fetch", "--no-tags", "--quiet", "origin", refspec], cwd=root, check=False)
        sha = _resolve(root, base)
    if sha is None:
        raise GitmlError(f"base branch {base!r} is not in this checkout",
                         hint=f"git fetch origin {base} (or pass --base REF)")
    found = _merge_base(root, sha)
    shallow = git("rev-parse", "--is-shallow-repository", cwd=root, check=False) == "true"
    if found is None and shallow and fetch and has_origin:
        for depth in (50, 500):
            run(["git", "fetch", "--no-tags", "--quiet", f"--deepen={depth}", "origin", refspec, "HEAD"],
                cwd=root, check=False)
            found = _merge_base(root, _resolve(root, base) or sha)
            if found:
                break
        if found is None:
            run(["git", "fetch", "--no-tags", "--quiet", "--unshallow", "origin", refspec], cwd=root, check=False)
            found = _merge_base(root, _resolve(root, base) or sha)
    if found is None:
        hint = ("this is a shallow clone: check out with full history (actions/checkout with fetch-depth: 0) "
                f"or run `git fetch --unshallow origin {base}`") if shallow else \
            f"HEAD shares no history with {base}; rebase the branch on {base} or pass --base REF"
        raise GitmlError(f"cannot find the merge-base of HEAD and {base}", hint=hint)
    return found


# -- reproducing ---------------------------------------------------------------


def reproduce(root: Path, *, push: bool = True, echo: bool = True) -> list[dict[str, Any]]:
    """`dvc repro --pull` (through gitml.reproduce), skipped when `dvc status` says all is up to date.

    A clean status means `dvc repro` would run nothing and pull nothing: a docs-only PR costs
    one `dvc status`. Outputs are pushed (with their run-cache entries) when a stage ran or was
    restored: a restore may come from a local or machine-shared run cache the remote never saw.
    """
    reproduce_mod.validate_params(root)
    clean, _ = dvcrepo.status_clean(root)
    if clean:
        lock = Revision(root, None).lock.get("stages") or {}
        return [{"name": name, "status": "unchanged", "seconds": 0.0} for name in lock]
    result = reproduce_mod.reproduce(root, push=False, echo=echo)
    stages = [s.as_dict() for s in result.stages]
    if push and any(s["status"] != "unchanged" for s in stages):
        dvcrepo.push(root)
    return stages


# -- dvc.lock back to the branch ---------------------------------------------


def lock_changed(root: Path) -> bool:
    return bool(git("status", "--porcelain", "--", "dvc.lock", cwd=root))


def commit_lock(root: Path, stages: list[dict[str, Any]]) -> str:
    """Commit dvc.lock as the bot; the message says what was reproduced."""
    ran = [s for s in stages if s["status"] == "ran"]
    restored = [s["name"] for s in stages if s["status"] == "restored"]
    subject = "gitml: reproduce " + (", ".join(s["name"] for s in ran) or "pipeline") + " (update dvc.lock)"
    body = ["Ran: " + (", ".join(f"{s['name']} ({s['seconds']:.1f} s)" for s in ran) or "nothing")]
    if restored:
        body.append("Restored from the run cache: " + ", ".join(restored))
    env = {**os.environ, "GIT_AUTHOR_NAME": BOT_NAME, "GIT_AUTHOR_EMAIL": BOT_EMAIL,
           "GIT_COMMITTER_NAME": BOT_NAME, "GIT_COMMITTER_EMAIL": BOT_EMAIL}
    run(["git", "add", "--", "dvc.lock"], cwd=root)
    run(["git", "commit", "--quiet", "--no-verify", "-m", subject, "-m", "\n".join(body), "--", "dvc.lock"],
        cwd=root, env=env)
    return git("rev-parse", "HEAD", cwd=root)


def push_lock(root: Path, branch: str, env: Mapping[str, str] | None = None) -> None:
    """Push the dvc.lock commit to the PR branch.

    In GitHub Actions the checkout keeps no credentials (persist-credentials: false); the
    token reaches git through gitml.forge.gitauth: never on a command line, in a URL or in
    .git/config.
    """
    from gitml.forge.gitauth import git_auth

    with git_auth(env) as auth_env:
        run(["git", "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], cwd=root, env=auth_env,
            hint=f"the job needs `contents: write` and GITHUB_TOKEN to push dvc.lock to {branch}")


# -- the job ------------------------------------------------------------------


def write_outputs(root: Path, report: dict[str, Any], *, pr_number: int | None, artifacts_url: str | None,
                  out_dir: Path = REPORT_DIR, draw: bool = True) -> tuple[str, dict[str, str]]:
    """Figures, report.json, report.md (the comment body) under out_dir; return (markdown, paths)."""
    out = root / out_dir
    for stale in out.glob("*.png") if out.is_dir() else ():
        stale.unlink()
    # PNGs only when there is something to look at: outputs changed, or no baseline to compare with
    if draw and (report["data"] or not report["baseline"]):
        pngs = figures.draw(report, out)
        report["figures"] = [str((out_dir / p.name).as_posix()) for p in pngs]
    body = markdown.render(report, pr_number=pr_number, artifacts_url=artifacts_url)
    paths = {
        "json": str(write_json_atomic(out / "report.json", report)),
        "markdown": str(write_text_atomic(out / "report.md", body)),
    }
    return body, paths


def run_pr(
    repo: str | Path = ".",
    *,
    base: str | None = None,
    poster: str = "none",
    push: bool = True,
    commit: bool = True,
    git_push: bool | None = None,
    branch: str | None = None,
    status: bool | None = None,
    echo: bool = True,
    env: Mapping[str, str] | None = None,
) -> PrResult:
    """The whole job. Errors from GitHub are collected (the report is written first) and raised at the end."""
    from gitml.forge import comment as comment_mod

    if poster == "auto":
        poster = "cml" if shutil.which("cml", path=(env or os.environ).get("PATH")) else "native"
    started = time.perf_counter()
    env = os.environ if env is None else env
    cfg = config_mod.load(repo)
    root = cfg.root
    ctx = actions.from_env(env)
    base_branch = base or ctx.base_ref or "main"
    mbase = merge_base(root, base_branch)
    head_sha = ctx.head_sha or git("rev-parse", "HEAD", cwd=root)
    client = _client(env) if (poster == "native" or status is not False) else None
    use_status = bool(client and client.has_token and ctx.repository) if status is None else status
    errors: list[str] = []

    def guarded(what: str, fn: Any) -> Any:
        try:
            return fn()
        except GitmlError as exc:
            errors.append(f"{what}: {exc}")
            return None

    if use_status:
        guarded("commit status", lambda: _status(client, ctx.repository, head_sha, "pending", cfg, "reproducing…",
                                                 ctx.run_url))
    stages = reproduce(root, push=push, echo=echo)

    lock_commit, pushed = None, False
    if commit and lock_changed(root):
        lock_commit = commit_lock(root, stages)
        target = branch or ctx.head_ref
        do_push = (ctx.event_name is not None and not ctx.is_fork) if git_push is None else git_push
        if do_push and target:
            push_lock(root, target, env)
            pushed = True

    report = compare.build(root, mbase, stages=stages, base_label=base_branch,
                           head_label=branch or ctx.head_ref, cfg=cfg)
    report["lock_commit"] = lock_commit
    body, paths = write_outputs(root, report, pr_number=ctx.pr_number, artifacts_url=ctx.artifacts_url)
    if ctx.step_summary is not None:
        with open(ctx.step_summary, "a", encoding="utf-8") as fh:
            fh.write(body + "\n")
    pr = PrResult(report, body, paths, mbase, lock_commit, pushed, errors=errors)

    watermark = comment_mod.Watermark(cfg.report.watermark, lock_commit or head_sha)
    if poster == "native":
        if not (ctx.repository and ctx.pr_number):
            errors.append("comment: no pull request in this job (GITHUB_REPOSITORY and the event's PR number)")
        else:
            posted = guarded("comment", lambda: comment_mod.post_native(client, ctx.repository, ctx.pr_number,
                                                                         body, watermark))
            pr.posted = posted.as_dict() if posted else None
    elif poster == "cml":
        posted = guarded("comment", lambda: comment_mod.post_cml(paths["markdown"], title=cfg.report.watermark,
                                                                  sha=lock_commit or head_sha, env=env))
        pr.posted = posted.as_dict() if posted else None
    elif poster != "none":
        raise GitmlError(f"unknown poster {poster!r}", hint="use auto, cml, native or none")

    if use_status:
        gate = report["gate"]
        state = "success" if gate["passed"] else "failure"
        for sha in dict.fromkeys(s for s in (lock_commit if pushed else None, head_sha) if s):
            if guarded("commit status", lambda sha=sha: _status(client, ctx.repository, sha, state, cfg,
                                                                 gate["summary"], ctx.run_url)) is not None:
                pr.statuses.append(sha)
    pr.seconds = round(time.perf_counter() - started, 3)
    write_json_atomic(root / REPORT_DIR / "job.json", pr.as_dict())
    return pr


def _client(env: Mapping[str, str]) -> Any:
    from gitml.forge.github import GitHubClient, token_from_env

    return GitHubClient(token_from_env(env=env), api_url=env.get("GITHUB_API_URL") or None,
                        token_hint="set GITHUB_TOKEN (the workflow's token with pull-requests: write, statuses: write)")


def _status(client: Any, repo: str | None, sha: str, state: str, cfg: config_mod.Config, description: str,
            target_url: str | None) -> dict[str, Any]:
    from gitml.forge import status as status_mod

    if not repo:
        raise GitmlError("no repository to set a status on", hint="set GITHUB_REPOSITORY=owner/name")
    return status_mod.set_status(client, repo, sha, state=state, context=cfg.gate.context,
                                 description=description, target_url=target_url)


def gate_exit(report: dict[str, Any], fail_job: bool | None = None) -> tuple[bool, str]:
    """(should the job fail?, a one-line verdict) for a stored report."""
    gate = report["gate"]
    fail = gate["fail_job"] if fail_job is None else fail_job
    verdict = f"gate {'passed' if gate['passed'] else 'failed'}: {gate['summary']}"
    if not gate["passed"] and not fail:
        verdict += " (not failing the job: [tool.gitml.gate].fail_job = false)"
    return (fail and not gate["passed"]), verdict


def load_report(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    data = read_json(p, missing_hint="run `gitml ci pr` first")
    if data.get("version") != compare.REPORT_VERSION:
        raise GitmlError(f"{p} has report version {data.get('version')!r}; this gitml reads {compare.REPORT_VERSION}")
    return data


def render_summary(pr: PrResult) -> str:
    gate = pr.report["gate"]
    lines = [f"gate: {'passed' if gate['passed'] else 'FAILED'} ({gate['summary']})",
             f"merge-base: {pr.merge_base}"]
    for s in pr.report["stages"]:
        lines.append(f"  {s['name']:<12} {s['status']:<10} {s['seconds']:7.2f} s")
    if pr.lock_commit:
        lines.append(f"dvc.lock committed as {pr.lock_commit[:8]}" + (" and pushed" if pr.lock_pushed else ""))
    lines.append(f"report: {pr.paths['markdown']} ({pr.paths['json']})")
    if pr.posted:
        lines.append(f"comment {pr.posted['action']}: {pr.posted.get('url') or ''}".rstrip())
    if pr.statuses:
        lines.append(f"status {gate['context']} set on " + ", ".join(s[:8] for s in pr.statuses))
    return "\n".join(lines)
