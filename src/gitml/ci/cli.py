"""`gitml ci ...`: the steps of the CI workflows. Each command parses and calls an API."""

from __future__ import annotations

import click

from gitml.cli import echo_json


@click.group("ci")
def ci() -> None:
    """Steps of the CI workflows (pull requests, releases); each runs one job's logic."""


@ci.command()
@click.option("-C", "--repo", default=".", show_default=True, help="Project directory (a clone of the repository).")
@click.option("--sha", default="HEAD", show_default=True, help="The pushed commit to release (GITHUB_SHA in Actions).")
@click.option("--bump", type=click.Choice(["major", "minor", "patch"]), default=None,
              help="Default bump when the merged PR has no release:* label (default: [tool.gitml.registry].bump).")
@click.option("--github-repo", envvar="GITHUB_REPOSITORY", default=None,
              help="owner/name on GitHub, for the merged PR's labels and the GitHub Release (env GITHUB_REPOSITORY).")
@click.option("--no-push", is_flag=True, help="Create tags locally only (no push, no GitHub Release).")
@click.option("--json", "as_json", is_flag=True, help="Print what was released as JSON.")
def release(repo: str, sha: str, bump: str | None, github_repo: str | None, no_push: bool, as_json: bool) -> None:
    """On push to main: register a new model version when the model outputs changed, then publish a GitHub Release."""
    from gitml.registry import release as release_mod

    result = release_mod.release(repo, sha=sha, bump=bump, github_repo=github_repo, push=not no_push)
    if as_json:
        echo_json(result.as_dict())
    else:
        click.echo(release_mod.render(result))
