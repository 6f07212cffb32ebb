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


@ci.command("pr")
@click.option("-C", "--repo", default=".", show_default=True, help="Project directory (a checkout of the PR head).")
@click.option("--base", default=None, help="Base branch to compare against (default: GITHUB_BASE_REF, else main).")
@click.option("--poster", type=click.Choice(["auto", "cml", "native", "none"]), default="none", show_default=True,
              help="Post the sticky comment with CML, with gitml's own GitHub client (auto: CML when on PATH), or not.")
@click.option("--push/--no-push", default=True, show_default=True,
              help="Push new outputs and run-cache entries to the DVC remote.")
@click.option("--commit-lock/--no-commit-lock", default=True, show_default=True,
              help="Commit dvc.lock as the bot when it changed.")
@click.option("--push-lock/--no-push-lock", default=None,
              help="Push the dvc.lock commit to the PR branch (default: in GitHub Actions, unless the PR is from a fork).")
@click.option("--branch", default=None, help="Branch to push dvc.lock to (default: the PR's head branch).")
@click.option("--status/--no-status", default=None,
              help="Set the gate commit status (default: when a token and GITHUB_REPOSITORY are set).")
@click.option("--fail-on-gate/--no-fail-on-gate", default=None,
              help="Exit 1 when the gate fails (default: [tool.gitml.gate].fail_job).")
@click.option("--json", "as_json", is_flag=True, help="Print the job's result as JSON.")
def pr_cmd(repo: str, base: str | None, poster: str, push: bool, commit_lock: bool, push_lock: bool | None,
           branch: str | None, status: bool | None, fail_on_gate: bool | None, as_json: bool) -> None:
    """The pull-request job: reproduce with the run cache, commit dvc.lock, report against the merge-base, gate."""
    import sys

    from gitml.ci import pr as pr_mod
    from gitml.errors import GitmlError

    result = pr_mod.run_pr(repo, base=base, poster=poster, push=push, commit=commit_lock, git_push=push_lock,
                           branch=branch, status=status)
    if as_json:
        echo_json(result.as_dict())
    else:
        click.echo(pr_mod.render_summary(result))
    if result.errors:
        raise GitmlError("; ".join(result.errors),
                         hint=f"the report is not lost: {result.paths['markdown']}, the job summary and the artifact")
    fail, verdict = pr_mod.gate_exit(result.report, fail_on_gate)
    if fail:
        click.secho(verdict, fg="red", err=True)
        sys.exit(1)


@ci.command("gate")
@click.argument("report_json", default="reports/pr/report.json", type=click.Path(dir_okay=False))
@click.option("--fail-on-gate/--no-fail-on-gate", default=None,
              help="Exit 1 when the gate failed (default: the report's [tool.gitml.gate].fail_job).")
def gate_cmd(report_json: str, fail_on_gate: bool | None) -> None:
    """Exit 1 when the report's quality gate failed (and failing the job is configured)."""
    import sys

    from gitml.ci import pr as pr_mod

    fail, verdict = pr_mod.gate_exit(pr_mod.load_report(report_json), fail_on_gate)
    click.secho(verdict, fg="red" if fail else None, err=fail)
    if fail:
        sys.exit(1)


@ci.command("comment")
@click.argument("markdown_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--poster", type=click.Choice(["cml", "native"]), default="native", show_default=True,
              help="Post with CML or with gitml's own GitHub client.")
@click.option("--pr", "pr_number", type=int, default=None, help="PR number (default: from the Actions event).")
@click.option("--github-repo", envvar="GITHUB_REPOSITORY", default=None, help="owner/name (env GITHUB_REPOSITORY).")
@click.option("--watermark", default=None, help="Watermark title (default: [tool.gitml.report].watermark).")
@click.option("--sha", default=None, help="Commit sha in the watermark (default: the PR head, else HEAD).")
@click.option("-C", "--repo", default=".", show_default=True, help="Project directory (for its configuration).")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def comment_cmd(markdown_file: str, poster: str, pr_number: int | None, github_repo: str | None,
                watermark: str | None, sha: str | None, repo: str, as_json: bool) -> None:
    """Create or update the PR's one sticky comment from a Markdown file."""
    from gitml.ci import post as post_mod

    posted = post_mod.post_file(markdown_file, poster=poster, pr_number=pr_number, github_repo=github_repo,
                                watermark=watermark, sha=sha, repo=repo)
    if as_json:
        echo_json(posted.as_dict())
    else:
        click.echo(f"comment {posted.action}" + (f": {posted.url}" if posted.url else ""))


@ci.command("unlabel")
@click.option("--label", default="safe-to-train", show_default=True, help="Label to remove.")
@click.option("--pr", "pr_number", type=int, default=None, help="PR number (default: from the Actions event).")
@click.option("--github-repo", envvar="GITHUB_REPOSITORY", default=None, help="owner/name (env GITHUB_REPOSITORY).")
def unlabel_cmd(label: str, pr_number: int | None, github_repo: str | None) -> None:
    """Remove a label from the PR (new commits on a fork PR need a maintainer's fresh approval)."""
    from gitml.ci import post as post_mod

    removed = post_mod.unlabel(label, pr_number=pr_number, github_repo=github_repo)
    click.echo(f"removed label {label!r}" if removed else f"label {label!r} was not on the PR")


def _register_experiment() -> None:
    from gitml.experiments.cli import experiment

    ci.add_command(experiment)


_register_experiment()
