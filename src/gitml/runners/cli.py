"""`gitml runner ...`: turn a GPU machine into self-hosted GitHub Actions runners."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from gitml.cli import echo_json
from gitml.errors import GitmlError

ROOT_HELP = "Install root the paths are relative to (like DESTDIR); anything but / never touches the live system."


def _root_option(f: Any) -> Any:
    return click.option("--root", default="/", show_default=True, type=click.Path(file_okay=False), help=ROOT_HELP)(f)


def _layout(root: str, user: str = "gitml-runner") -> Any:
    from gitml.runners.units import Layout

    return Layout(root=Path(root), user=user, group=user)


def _plan_options(f: Any) -> Any:
    options = [
        click.option("--gpus-per-runner", default=1, show_default=True, type=int, help="GPUs per runner (of one model)."),
        click.option("--cpu-runners", default=1, show_default=True, type=int, help="Runners to plan on a machine without GPU."),
        click.option("--label", "labels", multiple=True, help="Extra label for every runner (repeatable)."),
        click.option("--host", default=None, help="Name prefix of the runners [default: this machine's short host name]."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _make_plan(gpus_per_runner: int, cpu_runners: int, labels: tuple[str, ...], host: str | None) -> Any:
    from gitml.runners import gpus, plan

    return plan.make_plan(
        gpus.discover(), host=host, gpus_per_runner=gpus_per_runner, cpu_runners=cpu_runners, extra_labels=labels
    )


def _print_actions(actions: list[Any], dry_run: bool) -> None:
    for action in actions:
        mark = "skip" if action.run is None else ("plan" if dry_run else "done")
        click.echo(f"{mark}  {action.description}")


@click.group()
def runner() -> None:
    """Self-hosted GPU runners: one ephemeral, GPU-pinned GitHub Actions runner per GPU, sharing one DVC cache."""


@runner.command("plan")
@_plan_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan_cmd(gpus_per_runner: int, cpu_runners: int, labels: tuple[str, ...], host: str | None, as_json: bool) -> None:
    """Show the GPUs found and the runners that `install` would create (changes nothing)."""
    result = _make_plan(gpus_per_runner, cpu_runners, labels, host)
    if as_json:
        echo_json(result.as_dict())
    else:
        click.echo(result.render())


@runner.command("install")
@click.option("--repo", default=None, help="Register the runners to this repository (OWNER/REPO).")
@click.option("--org", default=None, help="Register the runners to this organization instead.")
@_plan_options
@click.option("--mode", type=click.Choice(["jit", "token"]), default="jit", show_default=True,
              help="jit: just-in-time runners via generate-jitconfig; token: classic config.sh with a registration token.")
@click.option("--runner-version", default=None, help="actions/runner version [default: the pinned one; 'latest' asks GitHub].")
@click.option("--sha256", default=None, help="Expected sha256 of the runner tarball (else pinned, else from the release notes).")
@click.option("--tarball", default=None, type=click.Path(dir_okay=False, exists=True), help="Use this downloaded tarball.")
@click.option("--download-base", default=None, help="Mirror of github.com/actions/runner/releases/download.")
@click.option("--arch", default=None, help="Runner architecture (x64, arm64) [default: this machine's].")
@click.option("--runner-group-id", default=1, show_default=True, type=int, help="Runner group id (jit mode).")
@click.option("--user", default="gitml-runner", show_default=True, help="Unprivileged user (and group) the runners run as.")
@click.option("--gitml-bin", default=None, help="gitml executable the units call [default: this one].")
@click.option("--kit-dir", default=None, type=click.Path(file_okay=False), help="The runner/ kit directory of gitml.")
@click.option("--approval-label", default="safe-to-train", show_default=True, help="PR label that approves a fork's job.")
@click.option("--gc-repo", default=None, help="OWNER/REPO whose main, registry tags and open PRs the cache GC keeps.")
@click.option("--gc-branch", default="main", show_default=True, help="Branch the cache GC keeps.")
@click.option("--no-start", is_flag=True, help="Write everything but do not enable or start the units.")
@_root_option
@click.option("--dry-run", is_flag=True, help="Print what would be done, change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the actions as JSON.")
def install_cmd(**kw: Any) -> None:
    """Download and verify the runner, write one systemd unit and env file per runner, and start them."""
    from gitml.forge.github import GitHubClient
    from gitml.runners import download, install, units
    from gitml.runners.github_api import Scope
    from gitml.runners.plan import arch_label

    scope = Scope.parse(kw["repo"], kw["org"])
    api_url = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    client = GitHubClient.from_env(("GITML_RUNNER_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"), api_url=api_url)
    version = kw["runner_version"] or download.DEFAULT_RUNNER_VERSION
    if version == "latest":
        version = download.latest_version(client)
    plan = _make_plan(kw["gpus_per_runner"], kw["cpu_runners"], kw["labels"], kw["host"])
    opts = install.InstallOptions(
        scope=scope,
        mode=kw["mode"],
        runner_version=version,
        platform=download.platform_for(kw["arch"] or arch_label()),
        sha256=kw["sha256"],
        tarball=kw["tarball"],
        download_base=kw["download_base"] or download.DOWNLOAD_BASE,
        server_url=os.environ.get("GITHUB_SERVER_URL", "https://github.com"),
        api_url=api_url,
        runner_group_id=kw["runner_group_id"],
        gitml_bin=kw["gitml_bin"] or "",
        approval_label=kw["approval_label"],
        gc_repo=kw["gc_repo"],
        gc_branch=kw["gc_branch"],
        start=not kw["no_start"],
    )
    layout = _layout(kw["root"], kw["user"])
    actions = install.install_actions(plan, layout, opts, units.kit_dir(kw["kit_dir"]), client)
    if not kw["dry_run"]:
        install.apply(actions)
    if kw["as_json"]:
        echo_json({"version": 1, "dry_run": kw["dry_run"], "plan": plan.as_dict(), "actions": [a.as_dict() for a in actions]})
    else:
        _print_actions(actions, kw["dry_run"])
        click.echo(f"{len(plan.runners)} runner(s) {'planned' if kw['dry_run'] else 'installed'}: " + ", ".join(r.name for r in plan.runners))


@runner.command("status")
@_root_option
@click.option("--no-api", is_flag=True, help="Do not ask GitHub for the runners' state.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_cmd(root: str, no_api: bool, as_json: bool) -> None:
    """Show each installed runner: its systemd unit and GitHub's view (online, busy)."""
    from gitml.forge.github import GitHubClient
    from gitml.runners import install
    from gitml.runners.github_api import TOKEN_HINT, TOKEN_VARIABLES

    layout = _layout(root)
    client = None if no_api else GitHubClient.from_env(TOKEN_VARIABLES, token_hint=TOKEN_HINT)
    if client is not None and not client.has_token:
        client = None
    result = install.status(layout, client)
    if as_json:
        echo_json(result)
        return
    click.echo(f"{result['scope']} (actions runner {result['runner_version']})")
    for r in result["runners"]:
        gh = r["github"]
        seen = "not checked (no token)" if gh is None else f"{gh.get('status')}{', busy' if gh.get('busy') else ''}"
        click.echo(f"  {r['name']}: unit {r['unit_state']}; GitHub: {seen}")
    if result["api_error"]:
        click.echo(f"GitHub API: {result['api_error']}", err=True)


@runner.command("remove")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Remove every installed runner.")
@click.option("--purge-cache", is_flag=True, help="With the last runner, also delete the shared DVC and pip caches.")
@_root_option
@click.option("--dry-run", is_flag=True, help="Print what would be done, change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the actions as JSON.")
def remove_cmd(names: tuple[str, ...], all_: bool, purge_cache: bool, root: str, dry_run: bool, as_json: bool) -> None:
    """Stop and unregister runners NAMES (or --all) and delete their units, env files and directories."""
    from gitml.forge.github import GitHubClient
    from gitml.runners import install
    from gitml.runners.github_api import TOKEN_HINT, TOKEN_VARIABLES

    if bool(names) == all_:
        raise GitmlError("name the runners to remove, or pass --all", hint="see `gitml runner status` for the names")
    client = GitHubClient.from_env(TOKEN_VARIABLES, token_hint=TOKEN_HINT)
    actions = install.remove_actions(_layout(root), list(names), client if client.has_token else None, purge_cache=purge_cache)
    if not dry_run:
        install.apply(actions)
    if as_json:
        echo_json({"version": 1, "dry_run": dry_run, "actions": [a.as_dict() for a in actions]})
    else:
        _print_actions(actions, dry_run)


@runner.command("credentials")
@click.option("--token-file", default=None, type=click.Path(dir_okay=False),
              help="File holding the admin token (else GITML_RUNNER_TOKEN / GITHUB_TOKEN).")
def credentials_cmd(token_file: str | None) -> None:
    """Register the runner described by GITML_RUNNER_* (its unit's ExecStartPre) and store its one-time credentials."""
    from gitml.runners import install

    path = install.write_credentials(os.environ, token_file=token_file)
    click.echo(f"registered {os.environ.get('GITML_RUNNER_NAME')}; credentials in {path}")


@runner.group("hook")
def hook() -> None:
    """Job hooks the runners call (ACTIONS_RUNNER_HOOK_JOB_STARTED / _COMPLETED)."""


def _run_hook(fn: Any, *args: Any) -> None:
    from gitml.runners.hooks import HookRefused

    try:
        lines = fn(os.environ, *args)
    except HookRefused as exc:
        click.echo(f"::error title=gitml runner refused this job::{exc}")
        raise
    for line in lines:
        click.echo(f"gitml runner: {line}")


@hook.command("started")
def hook_started() -> None:
    """Before a job: refuse unapproved fork PRs and untrusted commenters, fail fast on an unhealthy GPU."""
    from gitml.runners import hooks

    _run_hook(hooks.job_started)


@hook.command("completed")
def hook_completed() -> None:
    """After a job: empty the workspace, keep the shared caches."""
    from gitml.runners import hooks

    _run_hook(hooks.job_completed)


@runner.group("cache")
def cache_group() -> None:
    """The machine's shared DVC cache: configure, inspect, garbage-collect."""


@cache_group.command("setup")
@click.option("--cache-dir", required=True, help="The shared DVC cache directory.")
@click.option("--repo", "repo", default=None, type=click.Path(file_okay=False, exists=True),
              help="Configure this DVC checkout (its .dvc/config.local).")
@click.option("--config-dir", default=None, type=click.Path(file_okay=False),
              help="Configure this DVC global config directory (what DVC_GLOBAL_CONFIG_DIR points at).")
@click.option("--type", "types", default="reflink,hardlink,symlink", show_default=True, help="DVC cache.type, in order of preference.")
def cache_setup(cache_dir: str, repo: str | None, config_dir: str | None, types: str) -> None:
    """Point a checkout, or every checkout of the machine, at the shared DVC cache."""
    from gitml.runners import cache

    if bool(repo) == bool(config_dir):
        raise GitmlError("give exactly one of --repo PATH or --config-dir PATH")
    kinds = tuple(t.strip() for t in types.split(",") if t.strip())
    cache.make_shared_dir(cache_dir)
    path = cache.configure_checkout(repo, cache_dir, kinds) if repo else cache.configure_machine(config_dir or "", cache_dir, kinds)
    click.echo(f"wrote {path}: cache.dir {cache_dir}, shared group, type {','.join(kinds)}")


@cache_group.command("status")
@click.option("--cache-dir", default="/var/cache/gitml-runner/dvc", show_default=True, help="The shared DVC cache directory.")
@click.option("--busy-dir", default="/var/cache/gitml-runner/busy", show_default=True, help="Directory of busy markers.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def cache_status(cache_dir: str, busy_dir: str, as_json: bool) -> None:
    """Size and object count of the shared cache, and which runners have a job."""
    from gitml.runners import cache

    stats = {"version": 1, **cache.cache_stats(cache_dir), "busy": cache.busy_runners(busy_dir)}
    if as_json:
        echo_json(stats)
    else:
        click.echo(f"{stats['dir']}: {stats['objects']} objects, {stats['bytes'] / 2**20:.1f} MiB; busy: {', '.join(stats['busy']) or 'none'}")


@cache_group.command("gc")
@click.option("--repo", envvar="GITML_GC_REPO", required=True, help="OWNER/REPO of the project [env GITML_GC_REPO].")
@click.option("--repo-url", envvar="GITML_GC_REPO_URL", default=None, help="Clone URL [env GITML_GC_REPO_URL; default https://github.com/OWNER/REPO.git].")
@click.option("--branch", envvar="GITML_GC_BRANCH", default="main", show_default=True, help="Branch to keep [env GITML_GC_BRANCH].")
@click.option("--workdir", envvar="GITML_GC_WORKDIR", default="/var/lib/gitml-runner/gc", show_default=True,
              help="Private clone used for GC [env GITML_GC_WORKDIR].")
@click.option("--cache-dir", default="/var/cache/gitml-runner/dvc", show_default=True, help="The shared DVC cache directory.")
@click.option("--busy-dir", envvar="GITML_BUSY_DIR", default="/var/cache/gitml-runner/busy", show_default=True,
              help="Skip while a runner has a marker here [env GITML_BUSY_DIR].")
@click.option("--dry-run", is_flag=True, help="Show what would be removed, remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def cache_gc(repo: str, repo_url: str | None, branch: str, workdir: str, cache_dir: str, busy_dir: str, dry_run: bool, as_json: bool) -> None:
    """Remove cache objects that neither the branch, the registry tags nor an open PR references."""
    from gitml.forge.github import GitHubClient, token_from_env
    from gitml.runners import cache

    token = token_from_env(("GITML_GC_TOKEN", "GITHUB_TOKEN", "GH_TOKEN"))
    result = cache.collect(
        repo=repo,
        repo_url=repo_url or f"https://github.com/{repo}.git",
        workdir=workdir,
        cache_dir=cache_dir,
        client=GitHubClient(token),
        branch=branch,
        busy_dir=busy_dir,
        token=token,
        dry_run=dry_run,
    )
    if as_json:
        echo_json(result.as_dict())
    elif not result.ran:
        click.echo(f"skipped: {result.reason}")
    else:
        freed = (result.bytes_before - result.bytes_after) / 2**20
        click.echo(
            f"kept {result.kept_branches}, {len(result.kept_tags)} registry tag(s), {len(result.kept_pulls)} open PR(s); "
            f"freed {freed:.1f} MiB{' (dry run)' if dry_run else ''}"
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(runner())
