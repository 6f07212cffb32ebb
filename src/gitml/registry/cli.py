"""`gitml registry ...`: parses options, calls gitml.registry.api, renders. No logic here."""

from __future__ import annotations

import time
from typing import Any

import click

from gitml.cli import echo_json

_repo = click.option("-C", "--repo", default=".", show_default=True, help="Project directory (a git repository with dvc.yaml).")
_json = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
_push = click.option("--push", is_flag=True, help="Push the new tag to the git remote ([tool.gitml.registry].remote, default origin).")


def _date(ts: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts)) if ts else "-"


def _wrote(result: Any, verb: str) -> None:
    if result.tag is None:
        click.echo(result.note)
    else:
        click.echo(f"{verb} {result.tag} on {result.commit[:12]}" + (" (pushed)" if result.pushed else ""))


@click.group("registry")
def registry() -> None:
    """The model registry on Git tags (GTO-compatible): versions, stages, provenance, fetch."""


@registry.command()
@click.argument("name")
@click.option("--version", "version", default=None, help="Explicit version, e.g. v1.2.0 (default: bump the latest).")
@click.option("--bump", type=click.Choice(["major", "minor", "patch"]), default=None,
              help="Which part to bump (default: [tool.gitml.registry].bump, else minor).")
@click.option("--rev", default="HEAD", show_default=True, help="Commit to register.")
@click.option("--no-check-remote", is_flag=True, help="Skip checking that the commit's DVC outputs are in the DVC remote.")
@_push
@_repo
@_json
def register(name: str, version: str | None, bump: str | None, rev: str, no_check_remote: bool, push: bool, repo: str, as_json: bool) -> None:
    """Register NAME at a commit as a new version (an annotated tag carrying provenance)."""
    from gitml.registry import api

    result = api.register(repo, name, version=version, bump=bump, rev=rev, push=push, check_remote=not no_check_remote)
    if as_json:
        echo_json({"version": 1, **result.as_dict(), "provenance": result.provenance})
    else:
        _wrote(result, "registered")


@registry.command()
@click.argument("name")
@click.argument("version")
@click.argument("stage")
@_push
@_repo
@_json
def promote(name: str, version: str, stage: str, push: bool, repo: str, as_json: bool) -> None:
    """Assign STAGE to VERSION of NAME (a tag NAME#STAGE#N)."""
    from gitml.registry import api

    result = api.promote(repo, name, version, stage, push=push)
    if as_json:
        echo_json({"version": 1, **result.as_dict()})
    else:
        _wrote(result, "promoted: created")


@registry.command()
@click.argument("name")
@_push
@_repo
@_json
def deprecate(name: str, push: bool, repo: str, as_json: bool) -> None:
    """Deprecate the artifact NAME (a tag NAME@deprecated)."""
    from gitml.registry import api

    result = api.deprecate(repo, name, push=push)
    if as_json:
        echo_json({"version": 1, **result.as_dict()})
    else:
        _wrote(result, "deprecated: created")


@registry.command("list")
@_repo
@_json
def list_cmd(repo: str, as_json: bool) -> None:
    """Every artifact: its latest version and which version holds each stage."""
    from gitml.registry import api

    data = api.list_artifacts(repo)
    if as_json:
        echo_json(data)
        return
    click.echo(api.render_list(data))


@registry.command()
@click.argument("name")
@click.option("--version", "version", default=None, help="Show only this version.")
@_repo
@_json
def show(name: str, version: str | None, repo: str, as_json: bool) -> None:
    """Versions of NAME: commit, date, author, metrics, data hashes, stages."""
    from gitml.registry import api

    data = api.show(repo, name, version=version)
    if as_json:
        echo_json(data)
        return
    stages = ", ".join(f"{s}={v}" for s, v in data["stages"].items()) or "none"
    click.echo(f"{data['name']}{' [deprecated]' if data['deprecated'] else ''}  stages: {stages}")
    for v in data["versions"]:
        mark = "" if v["active"] else " (deregistered)"
        st = f" [{', '.join(v['stages'])}]" if v["stages"] else ""
        click.echo(f"  {v['version']}{mark}{st}  {v['commit'][:12]}  {_date(v['created_at'])}  {v['author'] or ''}")
        if v["metrics"]:
            click.echo("      metrics: " + ", ".join(f"{k}={x:.4g}" for k, x in sorted(v["metrics"].items())))
        if version is not None:
            for path, h in sorted(v["data"].items()):
                click.echo(f"      data: {path} {h}")
            for fname, params in sorted(v["params"].items()):
                click.echo(f"      params ({fname}): " + ", ".join(f"{k}={p}" for k, p in sorted(params.items())))


@registry.command()
@click.argument("name")
@_repo
@_json
def history(name: str, repo: str, as_json: bool) -> None:
    """Every registration, deregistration, assignment and deprecation of NAME, oldest first."""
    from gitml.registry import api

    data = api.history(repo, name)
    if as_json:
        echo_json(data)
        return
    for e in data["events"]:
        what = e["action"] + (f" {e['stage']}" if e["stage"] else "")
        click.echo(f"{_date(e['timestamp'])}  {what:<18} {e['version']:<12} {e['tag']}")


@registry.command()
@click.argument("name")
@click.argument("stage")
@_repo
@_json
def which(name: str, stage: str, repo: str, as_json: bool) -> None:
    """Print just the version of NAME in STAGE (for scripts); exit 1 when none is."""
    from gitml.registry import api

    version = api.which(repo, name, stage)
    if as_json:
        echo_json({"version": 1, "artifact": name, "stage": stage, "artifact_version": version})
    else:
        click.echo(version)


@registry.command()
@click.argument("name")
@click.option("--version", "version", default=None, help="The version to fetch, e.g. v1.2.0.")
@click.option("--stage", default=None, help="Fetch the version now in this stage.")
@click.option("-o", "--out", required=True, help="Where to write the artifact.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
@_repo
@_json
def fetch(name: str, version: str | None, stage: str | None, out: str, force: bool, repo: str, as_json: bool) -> None:
    """Get the artifact of a version (or stage) from the DVC remote, through DVC."""
    from gitml.registry import api

    data = api.fetch(repo, name, out, version=version, stage=stage, force=force)
    if as_json:
        echo_json({"version": 1, **data})
    else:
        click.echo(f"fetched {name} {data['version']} ({data['path']} at {data['commit'][:12]}) to {data['out']}")


@registry.command()
@click.option("--tag", default=None, help="A stage tag (NAME#STAGE#N), e.g. from the push event that triggered the job.")
@click.option("--name", default=None, help="Artifact name (with --stage, instead of --tag).")
@click.option("--stage", default=None, help="Stage to deploy (with --name).")
@click.option("--command", default=None, help="Deploy command (default: [tool.gitml.registry].deploy).")
@click.option("-o", "--out", default=None, help="Directory to fetch the artifact into (default .gitml/deploy/NAME/STAGE).")
@_repo
@_json
def deploy(tag: str | None, name: str | None, stage: str | None, command: str | None, out: str | None, repo: str, as_json: bool) -> None:
    """Fetch the version now in a stage and run the configured deploy command on it."""
    from gitml.registry import api

    data = api.deploy(repo, tag=tag, name=name, stage=stage, out=out, command=command)
    if as_json:
        echo_json({"version": 1, **data})
    elif data["deployed"]:
        click.echo(f"deployed {data['artifact']} {data['version']} to {data['stage']}")
    else:
        click.echo(data["note"])


@registry.command()
@click.option("-o", "--out", required=True, help="Directory to write the site into (index.html, registry.json).")
@_repo
@_json
def site(out: str, repo: str, as_json: bool) -> None:
    """Build the static registry page (no CDN, nothing fetched), ready for GitHub Pages."""
    from gitml.registry import site as site_mod

    data = site_mod.build(repo, out)
    if as_json:
        echo_json({"version": 1, **data})
    else:
        click.echo(f"wrote {data['index']} ({data['artifacts']} artifacts, {data['versions']} versions)")
