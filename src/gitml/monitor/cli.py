"""`gitml monitor ...`: drift, live performance, the drift issue and retraining. Each parses and calls the API."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import click

from gitml.cli import echo_json
from gitml.errors import GitmlError

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")


def parse_since(value: str | None) -> float | None:
    """'24h', '7d', '30m', '90s' ago, or an ISO-8601 time; as a Unix timestamp."""
    if not value:
        return None
    m = _SPAN.match(value.strip())
    if m:
        return time.time() - float(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise GitmlError(f"--since {value!r} is not a span or a time", hint="e.g. 24h, 7d or 2024-05-01T00:00:00Z") from exc


def _github_output(**values: object) -> None:
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            for k, v in values.items():
                fh.write(f"{k}={str(v).lower() if isinstance(v, bool) else v}\n")


def _summary(markdown_file: str | None) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path and markdown_file and Path(markdown_file).exists():
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(Path(markdown_file).read_text(encoding="utf-8") + "\n")


def _publish(result: dict, output: str, as_json: bool) -> str | None:
    """Step output and job summary (in Actions); JSON, or the status word for the text output (returned)."""
    _github_output(**{output: result["breach"]})
    _summary(result.get("outputs", {}).get("markdown"))
    if as_json:
        echo_json(result)
        return None
    return click.style("BREACH", fg="red") if result["breach"] else click.style("ok", fg="green")


@click.group("monitor")
def monitor() -> None:
    """Watch the served model: data drift, data quality, live performance; open the drift issue; retrain."""


@monitor.command()
@click.argument("name")
@click.option("--stage", default="prod", show_default=True, help="Compare with the training data of the version in this stage.")
@click.option("--version", "version", default=None, help="Compare with this version instead of a stage's.")
@click.option("-C", "--repo", default=".", show_default=True, help="Project directory.")
@click.option("--log", "log", envvar="GITML_PREDICTION_LOG", default=None,
              help="Prediction log (env GITML_PREDICTION_LOG; default: [tool.gitml.serve].log).")
@click.option("--data", "data_file", default=None, help="A data file (.parquet, .csv, .jsonl) to check instead of the log.")
@click.option("--only-version", default=None, help="Only log records answered by this model version.")
@click.option("--since", default=None, help="Only log records newer than this: 24h, 7d, or an ISO time.")
@click.option("--out", "out_dir", default="reports/monitor", show_default=True, help="Folder for drift.json, drift.md, figures/.")
@click.option("--no-figures", is_flag=True, help="Skip the PNG histograms.")
@click.option("--fail-on-breach", is_flag=True, help="Exit 1 when drift or a data-quality breach is found.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def drift(name: str, stage: str, version: str | None, repo: str, log: str | None, data_file: str | None,
          only_version: str | None, since: str | None, out_dir: str, no_figures: bool, fail_on_breach: bool, as_json: bool) -> None:
    """Per-feature drift (PSI, KS), prediction drift and data quality of current data against the training data."""
    from gitml.monitor import checks

    result = checks.drift(repo, name, stage=stage, version=version, log=log, data_file=data_file, only_version=only_version,
                          since=parse_since(since), out_dir=out_dir, figures=not no_figures)
    mark = _publish(result, "drift_breach", as_json)
    if mark:
        click.echo(f"{mark} {name} {result['model_version']}: {result['summary']}")
        for f in result["features"]:
            if f["drifted"]:
                click.echo(f"  drift  {f['name']}: " + "; ".join(f["reasons"]))
        for q in result["quality"]:
            if q["breach"]:
                click.echo(f"  {q['check']:<15} {q['feature']}: {q['detail']}")
        if result.get("outputs"):
            click.echo(f"report: {result['outputs']['markdown']}")
    if fail_on_breach and result["breach"]:
        sys.exit(1)


@monitor.command()
@click.argument("name")
@click.option("--labels", required=True, envvar="GITML_LABELS",
              help="Ground truth (env GITML_LABELS): a file with request_id, label (and row for batch requests).")
@click.option("-C", "--repo", default=".", show_default=True, help="Project directory.")
@click.option("--log", "log", envvar="GITML_PREDICTION_LOG", default=None,
              help="Prediction log (env GITML_PREDICTION_LOG; default: [tool.gitml.serve].log).")
@click.option("--since", default=None, help="Only log records newer than this: 24h, 7d, or an ISO time.")
@click.option("--out", "out_dir", default="reports/monitor", show_default=True, help="Folder for performance.json and .md.")
@click.option("--fail-on-breach", is_flag=True, help="Exit 1 on production skew.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def performance(name: str, labels: str, repo: str, log: str | None, since: str | None, out_dir: str,
                fail_on_breach: bool, as_json: bool) -> None:
    """Live metrics per model version from labelled predictions, against the offline evaluation in the registry."""
    from gitml.monitor import checks

    result = checks.performance(repo, name, labels, log=log, since=parse_since(since), out_dir=out_dir)
    mark = _publish(result, "performance_breach", as_json)
    if mark:
        click.echo(f"{mark} {name}: {result['labelled_rows']} labelled rows")
        for v in result["versions"]:
            shown = ", ".join(f"{k}={val:.4f}" for k, val in sorted(v["metrics"].items()))
            click.echo(f"  {v['version']} ({v['rows']} rows): {shown}")
            for s in v["skew"]:
                if s["breach"]:
                    click.echo(f"    skew {s['metric']}: live {s['live']:.4f} vs offline {s['offline']:.4f}")
    if fail_on_breach and result["breach"]:
        sys.exit(1)


@monitor.command()
@click.argument("name")
@click.option("--reports", "reports_dir", default="reports/monitor", show_default=True, help="Folder holding drift.json / performance.json.")
@click.option("-C", "--repo", default=".", show_default=True, help="Project directory.")
@click.option("--github-repo", envvar="GITHUB_REPOSITORY", default=None, help="owner/name on GitHub (env GITHUB_REPOSITORY).")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def issue(name: str, reports_dir: str, repo: str, github_repo: str | None, as_json: bool) -> None:
    """On a breach, open the drift issue (label from [tool.gitml.monitor].label) or update the one already open."""
    from gitml import config as config_mod
    from gitml.forge.actions import from_env
    from gitml.forge.github import GitHubClient
    from gitml.monitor import issue as issue_mod

    cfg = config_mod.load(repo)
    folder = Path(reports_dir) if Path(reports_dir).is_absolute() else cfg.root / reports_dir
    result = issue_mod.report(GitHubClient.from_env(), github_repo or "", name, folder, label=cfg.monitor.label,
                              run_url=from_env().run_url)
    _github_output(breach=result["breach"], issue=result["number"] or "")
    if as_json:
        echo_json(result)
    elif result["action"] == "none":
        click.echo("no breach: no issue opened or updated")
    else:
        click.echo(f"{result['action']} drift issue #{result['number']}: {result['url']}")


@monitor.command()
@click.option("-C", "--repo", default=".", show_default=True, help="Project directory (a clone that may push).")
@click.option("--github-repo", envvar="GITHUB_REPOSITORY", default=None, help="owner/name on GitHub (env GITHUB_REPOSITORY).")
@click.option("--remote", default="origin", show_default=True, help="Git remote to push the retrain branch to.")
@click.option("--issue", "issue_number", type=int, default=None, help="The drift issue this retraining answers.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def retrain(repo: str, github_repo: str | None, remote: str, issue_number: int | None, as_json: bool) -> None:
    """Open a retraining pull request: a branch where [tool.gitml.monitor.retrain].command moved the data version."""
    from gitml import config as config_mod
    from gitml.forge.github import GitHubClient
    from gitml.monitor import retrain as retrain_mod

    cfg = config_mod.load(repo)
    result = retrain_mod.open_retrain_pr(cfg.root, GitHubClient.from_env(), github_repo or "", cfg.monitor.retrain,
                                         remote=remote, issue=issue_number)
    if as_json:
        echo_json(result)
    elif result["action"] in ("created", "exists"):
        click.echo(f"retraining pull request #{result['number']} ({result['action']}): {result['url']}")
    else:
        click.echo(result["note"])
