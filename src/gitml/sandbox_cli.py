"""`gitml sandbox ...`: the CI loops run locally, with no GitHub."""

from __future__ import annotations

import click

from gitml.cli import echo_json


@click.group("sandbox")
def sandbox() -> None:
    """Run the CI loops on this machine in a throw-away sandbox (bare origin, local DVC remote, no GitHub)."""


@sandbox.command("pr")
@click.option("-C", "--repo", default=".", show_default=True, help="Project whose committed tree (HEAD) is used.")
@click.option("--workdir", type=click.Path(file_okay=False), default=None,
              help="Empty folder for the sandbox (default: a new temporary folder).")
@click.option("--param", default="train.random_forest.n_estimators", show_default=True,
              help="Param the PR branch changes (a dotted key of params.yaml).")
@click.option("--value", default=None, help="Its new value (YAML; default: a quarter of the old one).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of the comment.")
def pr_cmd(repo: str, workdir: str | None, param: str, value: str | None, as_json: bool) -> None:
    """Open a PR that changes one param, run `gitml ci pr` on it, print the comment (saved to reports/pr-comment.md)."""
    import yaml

    from gitml import sandbox as sandbox_mod

    result = sandbox_mod.pr_loop(repo, workdir, param=param, value=yaml.safe_load(value) if value else None)
    if as_json:
        echo_json(result.as_dict())
    else:
        click.echo(result.markdown)
        click.echo(f"(saved to {result.comment_path}; sandbox in {result.workdir})", err=True)
