"""The PR job on two real commits of a real project (real git, real DVC, a real local remote):
a param change that moves the metrics, reported against the merge-base; stages ran vs restored;
dvc.lock committed back and pushed; the comment and statuses reach the local GitHub stand-in."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from testkit import copy_project, git, set_remote
from github_stub import GitHubStub
from pr_fakes import FakePullRequest

from gitml import config as config_mod
from gitml.ci import pr as pr_mod
from gitml.cli import main as gitml_main
from gitml.errors import GitmlError
from gitml.report import compare, markdown
from gitml.sandbox import set_param

TOKEN = "ghs_test_token"
PARAM = "train.random_forest.n_estimators"


def _env(home: Path) -> dict[str, str]:
    return {"HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev",
            "GIT_COMMITTER_EMAIL": "dev@example.com", "DVC_NO_ANALYTICS": "1"}


@pytest.fixture(scope="module")
def pr_run(pipeline_template: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One PR (n_estimators 200 -> 20) run through `gitml ci pr` as in GitHub Actions, against the stand-in."""
    base = tmp_path_factory.mktemp("pr")
    repo, remote = copy_project(*pipeline_template, base)
    origin = base / "origin.git"
    with pytest.MonkeyPatch.context() as mp:
        for key, value in _env(base).items():
            mp.setenv(key, value)
        for var in ("GITHUB_TOKEN", "GH_TOKEN", "CI"):
            mp.delenv(var, raising=False)
        main_sha = git(repo, "rev-parse", "HEAD")
        git(base, "clone", "--quiet", "--bare", str(repo), str(origin))
        git(repo, "remote", "add", "origin", str(origin))
        git(repo, "fetch", "--quiet", "origin")
        git(repo, "checkout", "--quiet", "-b", "tune")
        params = repo / "params.yaml"
        params.write_text(set_param(params.read_text(), PARAM, 20)[0])
        git(repo, "commit", "--quiet", "-am", "fewer trees")
        git(repo, "push", "--quiet", "origin", "tune")
        head = git(repo, "rev-parse", "HEAD")
        event = base / "event.json"
        event.write_text(json.dumps({"action": "synchronize", "number": 7, "pull_request": {
            "number": 7, "labels": [], "head": {"sha": head, "ref": "tune", "repo": {"full_name": "o/r"}},
            "base": {"ref": "main", "repo": {"full_name": "o/r"}}}}))
        summary = base / "summary.md"
        with GitHubStub() as gh:
            fake = FakePullRequest(gh, "o/r", 7)
            env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_NAME":
                   "pull_request", "GITHUB_EVENT_PATH": str(event), "GITHUB_API_URL": gh.url, "GITHUB_TOKEN": TOKEN,
                   "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_RUN_ID": "42",
                   "GITHUB_SERVER_URL": "https://github.example"}
            result = pr_mod.run_pr(repo, poster="native", echo=False, env=env)
    return {"repo": repo, "remote": remote, "origin": origin, "head": head, "main": main_sha, "result": result,
            "fake": fake, "summary": summary, "template": pipeline_template[0]}


def test_stages_ran_and_lock_committed_back(pr_run: dict[str, Any]) -> None:
    result, repo = pr_run["result"], pr_run["repo"]
    fates = {s["name"]: s["status"] for s in result.report["stages"]}
    assert fates == {"ingest": "unchanged", "prepare": "unchanged", "featurize": "unchanged",
                     "train": "ran", "evaluate": "ran"}
    assert all(s["seconds"] > 0 for s in result.report["stages"] if s["status"] == "ran")
    # dvc.lock committed by the bot on top of the PR head, with a message saying what ran, and pushed
    assert result.lock_commit and result.lock_pushed
    log = git(repo, "log", "-1", "--format=%an <%ae>%n%s%n%b")
    assert log.startswith("github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>")
    assert "gitml: reproduce train, evaluate" in log and "Ran: train (" in log
    assert git(repo, "rev-parse", "HEAD~1") == pr_run["head"]
    assert git(pr_run["origin"], "rev-parse", "refs/heads/tune") == result.lock_commit
    assert git(repo, "status", "--porcelain", "--", "dvc.lock") == ""


def test_report_values_deltas_directions_params(pr_run: dict[str, Any]) -> None:
    report = pr_run["result"].report
    base_metrics = json.loads((pr_run["template"] / "reports" / "metrics.json").read_text())
    pr_metrics = json.loads((pr_run["repo"] / "reports" / "metrics.json").read_text())
    assert report["version"] == 1 and report["baseline"] is True
    assert report["base"]["sha"] == pr_run["main"]  # the merge-base with main
    rows = {r["name"]: r for r in report["metrics"]}
    assert set(rows) == set(base_metrics)
    for name, row in rows.items():
        assert row["base"] == pytest.approx(base_metrics[name]) and row["pr"] == pytest.approx(pr_metrics[name])
        assert row["delta"] == pytest.approx(pr_metrics[name] - base_metrics[name])
        if row["base"]:
            assert row["delta_pct"] == pytest.approx(100 * row["delta"] / abs(row["base"]))
        better = row["delta"] > 0 if row["direction"] == "higher" else row["delta"] < 0
        assert row["change"] == ("same" if abs(row["delta"]) < 1e-12 else "better" if better else "worse")
    assert rows["log_loss"]["direction"] == "lower" and rows["roc_auc"]["direction"] == "higher"
    assert any(r["change"] != "same" for r in rows.values()), "the param change must move the metrics"
    assert report["params"] == [{"key": PARAM, "base": 200, "pr": 20, "added": False, "removed": False}]
    changed = {d["path"]: d for d in report["data"]}
    assert "models/model.joblib" in changed and "data/prepared" not in changed
    assert all(d["kind"] == "output" for d in report["data"])  # no input data changed
    assert {s["key"] for s in report["stats"]} >= {"data/prepared/stats.json:rows.test"}
    checks = {(c["metric"], c["rule"]) for c in report["gate"]["checks"]}
    assert ("roc_auc", "max_regression") in checks and ("log_loss", "max_regression") in checks


def test_outputs_markdown_summary_comment_statuses(pr_run: dict[str, Any]) -> None:
    result, repo, fake = pr_run["result"], pr_run["repo"], pr_run["fake"]
    md = (repo / "reports" / "pr" / "report.md").read_text()
    stored = json.loads((repo / "reports" / "pr" / "report.json").read_text())
    assert stored["version"] == 1 and stored["metrics"] == result.report["metrics"]
    first = md.splitlines()[2]
    assert first.startswith(("✅ **Quality gate passed**", "❌ **Quality gate failed**"))
    assert "| metric | base | PR | Δ | Δ% | |" in md and f"| {PARAM} | `200` | `20` |" in md
    assert md.count("```mermaid") == 2 and md.count("xychart-beta") == 2
    assert "| actual \\ predicted | 0 | 1 |" in md and "🔨 ran" in md
    assert "git fetch origin pull/7/head:pr-7" in md
    assert "https://github.example/o/r/actions/runs/42#artifacts" in md
    assert "http" not in "".join(line for line in md.splitlines() if line.startswith("!["))  # no hosted images
    for png in result.report["figures"]:
        assert (repo / png).stat().st_size > 1000
    assert pr_run["summary"].read_text().strip() == md.strip()
    # one sticky comment, its watermark carrying the pushed commit
    assert len(fake.comments) == 1
    assert fake.comments[0]["body"].endswith(f'![](https://cml.dev/watermark.png#{result.lock_commit} '
                                             '"CML watermark gitml")')
    # pending on the PR head first, then the verdict on the pushed dvc.lock commit and on the head
    state = "success" if result.gate_passed else "failure"
    assert fake.statuses[0] == (pr_run["head"], {"state": "pending", "context": "gitml/gate",
                                                 "description": "reproducing…",
                                                 "target_url": "https://github.example/o/r/actions/runs/42"})
    final = {sha: body["state"] for sha, body in fake.statuses[1:]}
    assert final == {result.lock_commit: state, pr_run["head"]: state}


def test_fresh_clone_restores_every_stage_from_the_remote(pr_run: dict[str, Any], tmp_path: Path) -> None:
    clone = tmp_path / "runner"
    git(tmp_path, "clone", "--quiet", "--branch", "tune", str(pr_run["origin"]), str(clone))
    set_remote(clone, pr_run["remote"])
    result = pr_mod.run_pr(clone, base="main", poster="none", status=False, echo=False, env={})
    assert {s["status"] for s in result.report["stages"]} == {"restored"}
    assert result.lock_commit is None  # nothing changed: nothing committed
    assert result.report["metrics"] == pr_run["result"].report["metrics"]


def test_gate_failure_reasons_and_fail_job(pr_run: dict[str, Any], tmp_path: Path) -> None:
    repo = pr_run["repo"]
    cfg = config_mod.load(repo)
    strict = dataclasses.replace(cfg.gate, metrics={
        "roc_auc": config_mod.MetricRule("roc_auc", "higher", min=0.9999),
        "log_loss": config_mod.MetricRule("log_loss", "lower", max_regression=0.0),
    })
    report = compare.build(repo, pr_run["main"], cfg=dataclasses.replace(cfg, gate=strict))
    assert report["gate"]["passed"] is False
    assert "roc_auc" in report["gate"]["summary"] and "< min 0.9999" in report["gate"]["summary"]
    assert markdown.render(report).splitlines()[2].startswith("❌ **Quality gate failed**: roc_auc")
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    assert gitml_main(["ci", "gate", str(path)]) == 1
    report["gate"]["fail_job"] = False
    path.write_text(json.dumps(report))
    assert gitml_main(["ci", "gate", str(path)]) == 0


def test_first_pr_without_baseline(pr_run: dict[str, Any]) -> None:
    repo = pr_run["repo"]
    no_lock = git(repo, "rev-list", "--max-parents=0", "HEAD")  # the first commit: no dvc.lock, no metrics
    report = compare.build(repo, no_lock)
    assert report["baseline"] is False and all(r["change"] == "new" for r in report["metrics"])
    assert not [c for c in report["gate"]["checks"] if c["rule"] == "max_regression"]
    md = markdown.render(report)
    assert "**No baseline:**" in md and "| metric | PR |" in md


def test_report_from_two_revisions_is_fast(pr_run: dict[str, Any]) -> None:
    report = compare.build(pr_run["repo"], pr_run["main"])
    markdown.render(report)
    assert report["seconds"] < 1.5


def test_shallow_clone_is_deepened_and_unrelated_history_is_explained(pr_run: dict[str, Any], tmp_path: Path) -> None:
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "tune", f"file://{pr_run['origin']}",
                    str(shallow)], check=True)
    assert git(shallow, "rev-parse", "--is-shallow-repository") == "true"
    assert pr_mod.merge_base(shallow, "main") == pr_run["main"]
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    git(lonely, "init", "--quiet", "-b", "work")
    git(lonely, "commit", "--quiet", "--allow-empty", "-m", "x")
    with pytest.raises(GitmlError, match="base branch 'main' is not in this checkout"):
        pr_mod.merge_base(lonely, "main")


def test_long_report_is_cut_with_a_note() -> None:
    body = "## r\n\n<details><summary>x</summary>\n\n```mermaid\n" + ("line [0.5, 0.5]\n" * 8000)
    cut = markdown.truncate(body)
    assert len(cut) <= markdown.GITHUB_COMMENT_LIMIT - 512
    assert "Report truncated" in cut and cut.count("```") % 2 == 0
    assert cut.count("<details") == cut.count("</details>")
    assert markdown.truncate("short") == "short"


def test_rerun_updates_the_comment_and_api_errors_keep_the_report(pr_run: dict[str, Any], tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    repo, first = pr_run["repo"], pr_run["fake"].comments[0]
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7, "head": {"sha": git(repo, "rev-parse", "HEAD"),
                                 "ref": "tune", "repo": {"full_name": "o/r"}}, "base": {"ref": "main"}}}))
    summary = tmp_path / "summary.md"
    base_env = {"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "o/r", "GITHUB_EVENT_NAME": "pull_request",
                "GITHUB_EVENT_PATH": str(event), "GITHUB_TOKEN": TOKEN, "GITHUB_STEP_SUMMARY": str(summary)}
    with GitHubStub() as gh:  # the next push: nothing to reproduce, the same comment is updated in place
        fake = FakePullRequest(gh, "o/r", 7)
        fake.seed("github-actions[bot]", first["body"], "Bot")
        again = pr_mod.run_pr(repo, poster="native", echo=False, env={**base_env, "GITHUB_API_URL": gh.url})
        assert again.posted["action"] == "updated" and len(fake.comments) == 1
        assert {s["status"] for s in again.report["stages"]} == {"unchanged"} and again.lock_commit is None
    with GitHubStub() as gh:  # GitHub refuses: a clear error, and the report is still written
        gh.error("GET", "/repos/o/r/issues/7/comments", 403, "Resource not accessible by integration")
        gh.error("POST", f"/repos/o/r/statuses/{git(repo, 'rev-parse', 'HEAD')}", 403, "Resource not accessible")
        (repo / "reports" / "pr" / "report.md").unlink()
        summary.unlink()
        with pytest.MonkeyPatch.context() as mp:
            for key, value in {**base_env, "GITHUB_API_URL": gh.url}.items():
                mp.setenv(key, value)
            assert gitml_main(["ci", "pr", "-C", str(repo), "--poster", "native"]) == 1
    err = capsys.readouterr().err
    assert "comment: GitHub refused GET /repos/o/r/issues/7/comments (403: Resource not accessible" in err
    assert "the report is not lost" in err and TOKEN not in err
    assert (repo / "reports" / "pr" / "report.md").exists() and "gitml model report" in summary.read_text()
