"""`gitml ci experiment ...`: the steps of the experiment workflow. Each command parses and calls an API."""

from __future__ import annotations

import click

from gitml.cli import echo_json

_PLAN_HELP = "The plan: JSON text or a file (default: env GITML_EXPERIMENT_PLAN, the plan job's output)."


@click.group("experiment")
def experiment() -> None:
    """Experiments from issues: `/experiment key=value ...` comments and the experiment issue form."""


def _repo_option(f):  # type: ignore[no-untyped-def]
    return click.option("-C", "--repo", default=".", show_default=True, help="Project directory (a checkout).")(f)


def _github_repo_option(f):  # type: ignore[no-untyped-def]
    return click.option("--github-repo", envvar="GITHUB_REPOSITORY", default=None,
                        help="owner/name on GitHub (env GITHUB_REPOSITORY).")(f)


def _client(post: bool | None):  # type: ignore[no-untyped-def]
    """The GitHub client when posting (default: when a token is set), else None."""
    from gitml.errors import GitmlError
    from gitml.experiments import job

    client = job.client_from_env()
    if post is None:
        return client if client.has_token else None
    if post and not client.has_token:
        raise GitmlError("no GitHub token in the environment", hint="set GITHUB_TOKEN, or pass --no-post")
    return client if post else None


def _run_url() -> str | None:
    from gitml.forge import actions

    return actions.from_env().run_url


@experiment.command("parse")
@click.argument("text")
def parse_cmd(text: str) -> None:
    """Parse a comment (`/experiment ...`) or override text and print what it asks for as JSON."""
    from gitml.experiments import grammar, grid

    command = grammar.parse_command(text)
    overrides = command.overrides if command else tuple(grammar.parse_overrides(text))
    echo_json({"version": 1, "command": command.as_dict() if command else None,
               "overrides": [{"key": o.key, "values": list(o.values)} for o in overrides],
               "variants": grid.size(overrides)})


@experiment.command("plan")
@_repo_option
@click.option("--event", "event_path", envvar="GITHUB_EVENT_PATH", required=True, type=click.Path(dir_okay=False),
              help="The event payload (env GITHUB_EVENT_PATH).")
@click.option("--event-name", envvar="GITHUB_EVENT_NAME", required=True,
              help="issues or issue_comment (env GITHUB_EVENT_NAME).")
@_github_repo_option
@click.option("--post/--no-post", default=None, help="Answer on the issue (default: when GITHUB_TOKEN is set).")
@click.option("--remote", default="origin", show_default=True, help="Git remote whose experiments are counted.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def plan_cmd(repo: str, event_path: str, event_name: str, github_repo: str | None, post: bool | None, remote: str,
             as_json: bool) -> None:
    """Read the event, check who asked, validate every variant; write action/plan/matrix to $GITHUB_OUTPUT."""
    from gitml.experiments import issue, job
    from gitml.forge import actions

    outcome = job.plan_job(repo, issue.read_event(event_path), event_name, github_repo=github_repo,
                           client=_client(post), run_url=_run_url(), remote=remote)
    actions.set_outputs(outcome.outputs())
    if as_json:
        echo_json(outcome.as_dict())
    elif outcome.action == "run" and outcome.plan:
        click.echo(f"{len(outcome.plan.variants)} variant(s) from {outcome.plan.base} ({outcome.plan.base_sha[:8]}):")
        for v in outcome.plan.variants:
            click.echo(f"  {v.name}: {v.description}")
    else:
        click.echo(f"{outcome.action}" + (f": {outcome.reason}" if outcome.reason else ""))


@experiment.command("run")
@_repo_option
@click.option("--plan", "plan_source", envvar="GITML_EXPERIMENT_PLAN", required=True, help=_PLAN_HELP)
@click.option("--name", required=True, help="The variant to run (issue-N-K).")
@click.option("--push/--no-push", default=True, show_default=True, help="dvc exp push the experiment to the remotes.")
@click.option("--remote", default="origin", show_default=True, help="Git remote to push the experiment ref to.")
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="Result JSON for the collect job (default: reports/experiments/NAME.json).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run_cmd(repo: str, plan_source: str, name: str, push: bool, remote: str, output: str | None,
            as_json: bool) -> None:
    """Run one variant: `dvc exp run --pull --name NAME -S ...`, then `dvc exp push --run-cache REMOTE NAME`."""
    from gitml.experiments import plan as plan_mod
    from gitml.experiments import run as run_mod
    from gitml.fsutil import write_json_atomic

    result = run_mod.run_variant(repo, plan_mod.load_plan(plan_source), name, push=push, remote=remote)
    write_json_atomic(output or run_mod.result_path(repo, name), result.as_dict())
    if as_json:
        echo_json(result.as_dict())
    else:
        metrics = ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.metrics.items())
        click.echo(f"{name}: {result.sha[:8]} in {result.seconds:.1f} s" + (" (pushed)" if result.pushed else ""))
        click.echo(f"  {metrics}")


@experiment.command("collect")
@_repo_option
@click.option("--plan", "plan_source", envvar="GITML_EXPERIMENT_PLAN", default=None, help=_PLAN_HELP)
@click.option("--issue", "issue_number", type=int, default=None, help="Issue number (default: the plan's).")
@_github_repo_option
@click.option("--post/--no-post", default=None, help="Update the sticky results comment and the state label "
              "(default: when GITHUB_TOKEN is set).")
@click.option("--fetch/--no-fetch", default=True, show_default=True, help="Fetch the experiment refs from the remote.")
@click.option("--remote", default="origin", show_default=True, help="Git remote holding the experiment refs.")
@click.option("--results", type=click.Path(file_okay=False), default="reports/experiments", show_default=True,
              help="Folder with the variant jobs' result JSONs (their metrics, read where the DVC remote is).")
@click.option("--output", type=click.Path(dir_okay=False), default=None, help="Also write the comment to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON instead of the comment.")
def collect_cmd(repo: str, plan_source: str | None, issue_number: int | None, github_repo: str | None,
                post: bool | None, fetch: bool, remote: str, results: str, output: str | None, as_json: bool) -> None:
    """Compare every experiment of the issue with its base and post the results comment; exit 1 when a variant failed."""
    import sys

    from gitml.errors import GitmlError
    from gitml.experiments import job
    from gitml.experiments import plan as plan_mod
    from gitml.fsutil import write_text_atomic

    plan = plan_mod.load_plan(plan_source) if plan_source else None
    issue_number = issue_number or (plan.issue if plan else None)
    if not issue_number:
        raise GitmlError("no issue to collect", hint="pass --issue N or --plan")
    outcome = job.collect_job(repo, issue_number, plan=plan, github_repo=github_repo, client=_client(post),
                              run_url=_run_url(), remote=remote if fetch else None, results=results)
    if output:
        write_text_atomic(output, outcome.markdown)
    if as_json:
        echo_json(outcome.as_dict())
    else:
        click.echo(outcome.markdown)
    if outcome.collection.state == "failed":
        sys.exit(1)


@experiment.command("promote")
@_repo_option
@click.option("--name", required=True, help="The experiment to promote (issue-N-K).")
@click.option("--issue", "issue_number", type=int, required=True, help="The issue the PR closes.")
@click.option("--base", default="main", show_default=True, help="Branch the pull request targets.")
@_github_repo_option
@click.option("--post/--no-post", default=None, help="Open the PR and answer on the issue (default: when a token is set).")
@click.option("--remote", default="origin", show_default=True, help="Git remote to push the branch to.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def promote_cmd(repo: str, name: str, issue_number: int, base: str, github_repo: str | None, post: bool | None,
                remote: str, as_json: bool) -> None:
    """`dvc exp branch NAME exp/NAME`, push it, and open a pull request that closes the issue."""
    from gitml.experiments import job
    from gitml.experiments import promote as promote_mod

    result = job.promote_job(repo, name, issue_number, github_repo=github_repo, client=_client(post), base=base,
                             remote=remote)
    if as_json:
        echo_json(result.as_dict())
    else:
        click.echo(promote_mod.render_reply(result, issue_number))


@experiment.command("cancel")
@click.option("--issue", "issue_number", type=int, required=True, help="The issue whose runs to cancel.")
@click.option("--run-id", envvar="GITHUB_RUN_ID", type=int, required=True,
              help="This run (never cancelled; env GITHUB_RUN_ID).")
@_github_repo_option
@_repo_option
@click.option("--json", "as_json", is_flag=True, help="Print the cancelled runs as JSON.")
def cancel_cmd(issue_number: int, run_id: int, github_repo: str | None, repo: str, as_json: bool) -> None:
    """Cancel the issue's queued and running experiment runs (through the REST API) and say so on the issue."""
    from gitml import config as config_mod
    from gitml.errors import GitmlError
    from gitml.experiments import job

    if not github_repo:
        raise GitmlError("no repository", hint="pass --github-repo OWNER/NAME (env GITHUB_REPOSITORY)")
    cfg = config_mod.load(repo)
    cancelled = job.cancel_job(_client(True), github_repo, issue_number, run_id=run_id, cfg=cfg)
    if as_json:
        echo_json({"version": 1, "cancelled": cancelled})
    else:
        click.echo(f"cancelled {len(cancelled)} run(s)")
