"""Posting a report by hand or from a workflow step: a Markdown file as the sticky comment, label removal."""

from __future__ import annotations

from pathlib import Path

from gitml import config as config_mod
from gitml.errors import GitmlError
from gitml.forge import actions
from gitml.forge import comment as comment_mod
from gitml.forge import status as status_mod
from gitml.forge.github import GitHubClient
from gitml.proc import git

_TOKEN_HINT = "set GITHUB_TOKEN to a token with pull-requests: write"


def _target(pr_number: int | None, github_repo: str | None) -> tuple[str, int]:
    ctx = actions.from_env()
    repo = github_repo or ctx.repository
    number = pr_number or ctx.pr_number
    if not repo or not number:
        raise GitmlError("no pull request to post to", hint="pass --github-repo OWNER/NAME and --pr N (or run in a PR job)")
    return repo, number


def _client() -> GitHubClient:
    client = GitHubClient.from_env(token_hint=_TOKEN_HINT)
    if not client.has_token:
        raise GitmlError("no GitHub token in the environment", hint=_TOKEN_HINT)
    return client


def post_file(markdown_file: str | Path, *, poster: str = "native", pr_number: int | None = None,
              github_repo: str | None = None, watermark: str | None = None, sha: str | None = None,
              repo: str | Path = ".") -> comment_mod.Posted:
    title = watermark or config_mod.load(repo).report.watermark
    sha = sha or actions.from_env().head_sha or git("rev-parse", "HEAD", cwd=repo, check=False) or "0"
    if poster == "cml":
        return comment_mod.post_cml(markdown_file, title=title, sha=sha)
    body = Path(markdown_file).read_text(encoding="utf-8")
    gh_repo, number = _target(pr_number, github_repo)
    return comment_mod.post_native(_client(), gh_repo, number, body, comment_mod.Watermark(title, sha))


def unlabel(label: str, *, pr_number: int | None = None, github_repo: str | None = None) -> bool:
    gh_repo, number = _target(pr_number, github_repo)
    return status_mod.remove_label(_client(), gh_repo, number, label)


