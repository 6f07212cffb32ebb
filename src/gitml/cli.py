"""The gitml command line: parses, calls the API, renders. No logic lives here.

Capabilities register their own click groups in `_SUBGROUPS`; each is imported
only when its command runs, so `gitml --help` stays fast.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import click

from gitml import __version__
from gitml.errors import GitmlError

# command name -> "module:attribute" of a click command, imported on use.
_SUBGROUPS: dict[str, str] = {
    "registry": "gitml.registry.cli:registry",
    "ci": "gitml.ci.cli:ci",
    "serve": "gitml.serve.cli:serve",
    "monitor": "gitml.monitor.cli:monitor",
    "sandbox": "gitml.sandbox_cli:sandbox",
    "runner": "gitml.runners.cli:runner",
}


class LazyGroup(click.Group):
    """A click group whose subcommands in `_SUBGROUPS` load on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_SUBGROUPS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in _SUBGROUPS:
            module, attr = _SUBGROUPS[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="gitml", message="%(prog)s %(version)s")
@click.option("--traceback", is_flag=True, help="Show the full Python traceback when a command fails.")
@click.pass_context
def cli(ctx: click.Context, traceback: bool) -> None:
    """gitml: Git-native CI/CD for machine learning (DVC pipelines, PR reports, a model registry on Git tags)."""
    ctx.ensure_object(dict)
    ctx.obj["traceback"] = traceback


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@click.option("-C", "--repo", default=".", show_default=True, help="Project directory to check.")
def doctor(as_json: bool, repo: str) -> None:
    """Check that git, dvc, the DVC remote, params and the pipeline are ready, and say what to fix."""
    from gitml import doctor as doctor_mod

    checks = doctor_mod.run_checks(repo)
    if as_json:
        echo_json({"version": 1, "ok": doctor_mod.all_ok(checks), "checks": [c.as_dict() for c in checks]})
    else:
        for c in checks:
            mark = {"ok": click.style("ok  ", fg="green"), "warn": click.style("warn", fg="yellow")}.get(
                c.status, click.style("FAIL", fg="red")
            )
            click.echo(f"{mark} {c.name}: {c.detail}")
            if c.status != "ok" and c.fix:
                click.echo(f"     fix: {c.fix}")
    if not doctor_mod.all_ok(checks):
        sys.exit(1)


@cli.command("validate")
@click.option("-C", "--repo", default=".", show_default=True, help="Project directory.")
def validate_cmd(repo: str) -> None:
    """Check params.yaml against the project's params JSON Schema."""
    from gitml import reproduce as reproduce_mod

    path = reproduce_mod.validate_params(repo)
    click.echo(f"{path} is valid")


@cli.command()
@click.option("-C", "--repo", default=".", show_default=True, help="Project directory.")
@click.option("--push/--no-push", default=True, show_default=True, help="Push outputs and run cache to the DVC remote.")
@click.option("--json", "as_json", is_flag=True, help="Print what ran and the metrics as JSON.")
def repro(repo: str, push: bool, as_json: bool) -> None:
    """Validate params, reproduce the pipeline (restoring cached stages from the remote), push, show metrics."""
    from gitml import reproduce as reproduce_mod

    result = reproduce_mod.reproduce(repo, push=push)
    if as_json:
        echo_json(result.as_dict())
    else:
        click.echo(reproduce_mod.render_summary(result))


@cli.command()
@click.option("-C", "--repo", default=".", show_default=True, help="Project directory.")
def demo(repo: str) -> None:
    """The main job: the whole loop locally (reproduce, PR report in a sandbox, release, promote, fetch)."""
    from gitml import demo as demo_mod

    demo_mod.run(repo, echo=click.echo)


def main(argv: list[str] | None = None) -> int:
    """Entry point: one error handler turns GitmlError into one red line and exit 1."""
    args = sys.argv[1:] if argv is None else argv
    try:
        cli.main(args=args, prog_name="gitml", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except GitmlError as exc:
        if "--traceback" in args:
            raise
        click.secho(f"error: {exc}", fg="red", err=True)
        return 1
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
