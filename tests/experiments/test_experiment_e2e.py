"""The whole experiment job on a real project: plan, real `dvc exp run` + `dvc exp push origin` for two
variants, collect into the sticky results comment, promote to a pull request, cancel, all against the
local GitHub stand-in. Each job works in its own fresh clone of the bare origin, as on separate runners."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from exp_fakes import FakeIssue, comment_event, git
from github_stub import GitHubStub

from gitml.experiments import job
from gitml.experiments import run as run_mod
from gitml.forge.github import GitHubClient

pytestmark = pytest.mark.slow
GITML = str(Path(sys.executable).parent / "gitml")


def _clone(origin: Path, dest: Path, remote: Path, *, ref: str | None = None) -> Path:
    """A runner's checkout: a fresh clone of origin with the DVC remote (no cache: it comes from the remote)."""
    git(origin.parent, "clone", "--quiet", str(origin), str(dest))
    (dest / ".dvc" / "config.local").write_text(f"['remote \"local\"']\n    url = {remote}\n")
    if ref:
        git(dest, "checkout", "--quiet", "--detach", ref)
    return dest


def test_a_comment_runs_two_variants_and_the_results_come_back(exp_project: tuple[Path, Path], tmp_path: Path) -> None:
    repo, origin = exp_project
    remote = tmp_path / "remote"
    with GitHubStub() as gh:
        fake = FakeIssue(gh, "o/r", 7)
        client = GitHubClient("t", api_url=gh.url)

        # plan (ubuntu-latest): validate, label, announce
        planner = _clone(origin, tmp_path / "plan", remote)
        outcome = job.plan_job(planner, comment_event("/experiment evaluate.threshold=0.3,0.7"), "issue_comment",
                               client=client)
        assert outcome.action == "run" and outcome.plan is not None
        plan = outcome.plan
        assert fake.labels == ["experiment:running"] and "⏳ running" in fake.bodies[0]

        # the fan-out: each variant on its own runner, through the CLI as the workflow calls it
        results = tmp_path / "artifacts"
        for name in plan.names:
            runner = _clone(origin, tmp_path / name, remote, ref=plan.base_sha)
            proc = subprocess.run([GITML, "ci", "experiment", "run", "--name", name, "--output",
                                   str(results / f"{name}.json")], cwd=runner, text=True, capture_output=True,
                                  env={**_env(), "GITML_EXPERIMENT_PLAN": plan.to_json()})
            assert proc.returncode == 0, proc.stdout + proc.stderr
            assert "Running stage 'evaluate'" in proc.stderr and "Running stage 'train'" not in proc.stderr
            assert git(runner, "status", "--porcelain", "--untracked-files=no") == ""  # work tree put back
        refs = git(origin, "for-each-ref", "--format=%(refname)", "refs/exps")
        assert refs.endswith(("/issue-7-2",)) and "/issue-7-1" in refs
        result = json.loads((results / "issue-7-1.json").read_text())
        assert result["overrides"] == {"evaluate.threshold": 0.3} and result["base_metrics"]["roc_auc"] > 0.9

        # collect (another machine: no DVC cache, metrics from the variants' results)
        collector = _clone(origin, tmp_path / "collect", remote)
        done = job.collect_job(collector, 7, plan=plan, github_repo="o/r", client=client, results=results)
        assert done.collection.state == "done"
        assert fake.labels == ["experiment:done"]
        assert len(fake.comments) == 1  # one sticky comment, updated in place
        body = fake.bodies[0]
        assert "## 🧪 Experiments for #7: ✅ done" in body and "2 of 2 variant(s)" in body
        assert "| base | `main` @ `" in body
        assert "`issue-7-1` | `evaluate.threshold=0.3`" in body and "`issue-7-2` | `evaluate.threshold=0.7`" in body
        best = done.collection.best
        assert best in plan.names and f"**Best: `{best}`**" in body and f"| 🏆 | `{best}` |" in body
        roc = {e.name: e.metric("roc_auc") for e in done.collection.experiments}
        assert roc[best] == max(roc.values())
        assert "dvc exp apply issue-7-1" in body and "dvc exp run --pull -S evaluate.threshold=0.3" in body
        assert f"/experiment promote {best}" in body
        assert body.rstrip().endswith('"CML watermark gitml-experiment")')

        # the same results again: still one comment
        job.collect_job(collector, 7, plan=plan, github_repo="o/r", client=client, results=results)
        assert len(fake.comments) == 1

        # promote: dvc exp branch, push, a PR that closes the issue; the pull-request loop finds the outputs cached
        promoter = _clone(origin, tmp_path / "promote", remote)
        promoted = job.promote_job(promoter, "issue-7-2", 7, github_repo="o/r", client=client, base="main")
        assert git(origin, "rev-parse", "refs/heads/exp/issue-7-2") == promoted.sha
        assert "threshold: 0.7" in git(origin, "show", "exp/issue-7-2:params.yaml")
        pull = fake.pulls[0]
        assert (pull["head"], pull["base"]) == ("exp/issue-7-2", "main")
        assert pull["body"].rstrip().endswith("Closes #7") and "| evaluate.threshold | `0.5` | `0.7` |" in pull["body"]
        assert "🚀 Promoted `issue-7-2`" in fake.bodies[-1] and pull["html_url"] in fake.bodies[-1]
        again = job.promote_job(promoter, "issue-7-2", 7, github_repo="o/r", client=client, base="main")
        assert again.existing and len(fake.pulls) == 1
        pr_checkout = _clone(origin, tmp_path / "pr", remote, ref="origin/exp/issue-7-2")
        repro = subprocess.run([GITML, "repro", "--no-push", "--json"], cwd=pr_checkout, text=True,
                               capture_output=True, env=_env())
        assert repro.returncode == 0, repro.stdout + repro.stderr
        assert {s["status"] for s in json.loads(repro.stdout)["stages"]} <= {"restored", "unchanged"}

        # promoting an experiment that does not exist is answered
        with pytest.raises(Exception, match="no experiment 'issue-7-9'"):
            job.promote_job(promoter, "issue-7-9", 7, github_repo="o/r", client=client, base="main")
        assert "no experiment 'issue-7-9'" in fake.bodies[-1]


def test_a_failed_variant_is_reported_and_labelled(params_repo: Path, tmp_path: Path) -> None:
    """A planned variant whose runner pushed nothing shows as failed; the label says so."""
    from gitml.experiments import grammar
    from gitml.experiments import plan as plan_mod

    plan = plan_mod.make_plan(params_repo, 7, [grammar.Override("seed", (1, 2))], base="main")
    with GitHubStub() as gh:
        fake = FakeIssue(gh, "o/r", 7)
        done = job.collect_job(params_repo, 7, plan=plan, github_repo="o/r", client=GitHubClient("t", api_url=gh.url))
    assert done.collection.state == "failed" and fake.labels == ["experiment:failed"]
    assert "0 of 2 variant(s) of this run finished; 2 failed or were cancelled" in fake.bodies[0]
    assert "| ❌ | `issue-7-1` | `seed=1` | failed |" in fake.bodies[0]


def test_cancel_cancels_the_issues_other_runs(params_repo: Path) -> None:
    title = job.run_title(7)
    runs = [
        {"id": 1, "status": "in_progress", "display_title": title, "html_url": "https://github.com/o/r/actions/runs/1"},
        {"id": 2, "status": "queued", "display_title": title, "html_url": "https://github.com/o/r/actions/runs/2"},
        {"id": 3, "status": "in_progress", "display_title": job.run_title(8)},  # another issue
        {"id": 4, "status": "in_progress", "display_title": title},  # this run: the cancel command itself
    ]
    with GitHubStub() as gh:
        fake = FakeIssue(gh, "o/r", 7)
        fake.add_workflow_runs(555, runs)
        cancelled = job.cancel_job(GitHubClient("t", api_url=gh.url), "o/r", 7, run_id=4)
    assert sorted(c["id"] for c in cancelled) == sorted(fake.cancelled) == [1, 2]
    assert fake.labels == ["experiment:cancelled"] and "Cancelled 2 experiment run(s) of #7" in fake.bodies[0]


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}


def test_variant_result_path() -> None:
    assert run_mod.result_path("/x", "issue-1-2") == Path("/x/reports/experiments/issue-1-2.json")
