"""Benchmark of the pull-request loop. Prints one JSON document.

(a) docs-only PR: `gitml ci pr` wall time (no stage runs) against a bare `dvc status` on the
    same repository in the same run; target ratio <= 3.
(b) fresh runner, empty cache, a pipeline whose training takes >= 20 s (synthetic data):
    `dvc repro --pull` restoring every stage from the remote run cache, against the original
    run that trained; target ratio <= 0.15.
(c) building the report (comparison + Markdown) from two revisions; target <= 1.5 s
    (the PNG figures are timed apart).

    python bench/pr_cycle.py [--rows 300000] [--trees 30] [--depth 14] [--skip-b] [--repeat 3]

Everything runs in a temporary folder with its own HOME, git identity and local DVC remote.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FILES = ("dvc.yaml", "params.yaml", "pyproject.toml", ".dvcignore", "data/external/README.md")


def sh(cwd: Path, *argv: str, env: dict[str, str]) -> str:
    proc = subprocess.run(list(argv), cwd=cwd, env=env, text=True, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def timed(cwd: Path, *argv: str, env: dict[str, str]) -> float:
    t = time.perf_counter()
    sh(cwd, *argv, env=env)
    return time.perf_counter() - t


def make_project(dest: Path, remote: Path, env: dict[str, str], params_update: dict | None = None) -> Path:
    repo = dest / "repo"
    for rel in FILES:
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, repo / rel)
    shutil.copytree(ROOT / "src/pipeline", repo / "src/pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / ".dvc", repo / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp", "config.local"))
    (repo / "README.md").write_text("# bench project\n")
    if params_update:
        params = yaml.safe_load((repo / "params.yaml").read_text())
        for dotted, value in params_update.items():
            node = params
            *path, last = dotted.split(".")
            for key in path:
                node = node[key]
            node[last] = value
        (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (repo / ".dvc" / "config.local").write_text(f"['remote \"local\"']\n    url = {remote}\n")
    sh(repo, "git", "init", "-q", "-b", "main", env=env)
    sh(repo, "git", "add", "-A", env=env)
    sh(repo, "git", "commit", "-qm", "project", env=env)
    return repo


def reproduce_main(repo: Path, env: dict[str, str]) -> tuple[float, dict]:
    t = time.perf_counter()
    out = sh(repo, str(BIN / "gitml"), "repro", "--json", env=env)
    seconds = time.perf_counter() - t
    sh(repo, "git", "add", "dvc.lock", env=env)
    sh(repo, "git", "commit", "-qm", "reproduce", env=env)
    return seconds, json.loads(out)


def bench_docs_pr(work: Path, env: dict[str, str], repeat: int) -> dict:
    repo = make_project(work / "a", work / "a" / "remote", env)
    reproduce_main(repo, env)
    sh(repo, "git", "checkout", "-qb", "docs", env=env)
    (repo / "README.md").write_text("# bench project\n\nBetter docs.\n")
    sh(repo, "git", "commit", "-qam", "docs", env=env)
    pr_times, status_times = [], []
    for _ in range(repeat):
        status_times.append(timed(repo, str(BIN / "dvc"), "status", env=env))
        pr_times.append(timed(repo, str(BIN / "gitml"), "ci", "pr", "--base", "main", "--poster", "none", env=env))
    job = json.loads((repo / "reports" / "pr" / "job.json").read_text())
    pr, st = statistics.median(pr_times), statistics.median(status_times)
    return {"gitml_ci_pr_s": round(pr, 3), "dvc_status_s": round(st, 3), "ratio": round(pr / st, 2),
            "target_ratio": 3.0, "stages": {s["name"]: s["status"] for s in job["stages"]},
            "stages_ran": sum(s["status"] == "ran" for s in job["stages"]), "repeat": repeat}


def bench_restore(work: Path, env: dict[str, str], rows: int, trees: int, depth: int) -> dict:
    remote = work / "b" / "remote"
    repo = make_project(work / "b", remote, env, {
        "data.source": "synthetic", "data.synthetic.n_samples": rows,
        "train.model": "random_forest", "train.random_forest.n_estimators": trees,
        "train.random_forest.max_depth": depth, "evaluate.importance_rows": 500,
    })
    retrain_s, result = reproduce_main(repo, env)
    train_s = next(s["seconds"] for s in result["stages"] if s["name"] == "train")
    runner = work / "b" / "fresh-runner"
    sh(work / "b", "git", "clone", "-q", str(repo), str(runner), env=env)
    (runner / ".dvc" / "config.local").write_text(f"['remote \"local\"']\n    url = {remote}\n")
    t = time.perf_counter()
    out = sh(runner, str(BIN / "gitml"), "repro", "--no-push", "--json", env=env)
    restore_s = time.perf_counter() - t
    fates = {s["name"]: s["status"] for s in json.loads(out)["stages"]}
    return {"rows": rows, "trees": trees, "max_depth": depth, "train_stage_s": round(train_s, 2),
            "retrain_pipeline_s": round(retrain_s, 2), "restore_pipeline_s": round(restore_s, 2),
            "ratio": round(restore_s / retrain_s, 3), "ratio_vs_train_stage": round(restore_s / train_s, 3),
            "target_ratio": 0.15, "restored_stages": fates}


def bench_report(work: Path, env: dict[str, str], repeat: int) -> dict:
    repo = work / "a" / "repo"  # from (a): main reproduced; make a PR that moves the metrics
    sh(repo, "git", "checkout", "-qb", "tune", "main", env=env)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["random_forest"]["n_estimators"] = 40
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh(repo, str(BIN / "gitml"), "repro", env=env)
    sh(repo, "git", "commit", "-qam", "tune", env=env)
    probe = (
        "import json, sys, time\n"
        "t0 = time.perf_counter()\n"
        "from gitml.report import compare, markdown, figures\n"
        "r = compare.build('.', 'main'); md = markdown.render(r)\n"
        "t1 = time.perf_counter(); figures.draw(r, '/tmp/gitml-bench-figures'); t2 = time.perf_counter()\n"
        "print(json.dumps({'report_s': t1 - t0, 'figures_s': t2 - t1, 'chars': len(md)}))\n"
    )
    runs = [json.loads(sh(repo, sys.executable, "-c", probe, env=env)) for _ in range(repeat)]
    return {"report_s": round(statistics.median(r["report_s"] for r in runs), 3),
            "figures_png_s": round(statistics.median(r["figures_s"] for r in runs), 3),
            "markdown_chars": runs[0]["chars"], "target_s": 1.5,
            "note": "report_s is a fresh process: imports, reading both revisions (git + DVC cache), Markdown"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=300_000, help="synthetic rows for (b)")
    ap.add_argument("--trees", type=int, default=30, help="random forest trees for (b)")
    ap.add_argument("--depth", type=int, default=14, help="random forest max_depth for (b)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-b", action="store_true", help="skip the slow restore benchmark")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gitml-bench-pr-") as tmp:
        work = Path(tmp)
        home = work / "home"
        home.mkdir()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
               "HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
               "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
               "DVC_NO_ANALYTICS": "1", "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        result = {"version": 1, "cpus": os.cpu_count(), "docs_only_pr": bench_docs_pr(work, env, args.repeat)}
        result["report_two_revisions"] = bench_report(work, env, args.repeat)
        if not args.skip_b:
            result["fresh_runner_restore"] = bench_restore(work, env, args.rows, args.trees, args.depth)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
