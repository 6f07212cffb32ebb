"""The main job on the embedded defaults: the whole gitml loop on one machine, with no GitHub.

1. reproduce the project's pipeline, push to its DVC remote, show the metrics;
2. in a sandbox (a bare origin, a DVC remote of its own): main is reproduced, a branch
   changes one param, `gitml ci pr` runs on it and the sticky comment is rendered;
3. main is released (a version tag), the branch is merged and released again,
   the new version is promoted to staging and prod, the prod model is fetched and
   the registry is printed;
4. the prod model is served on loopback for a moment and sent requests; a drift
   check against deliberately shifted data prints the issue that would be opened;
5. a simulated `/experiment` issue comment runs a three-variant experiment
   (`dvc exp run`, `dvc exp push`) and the issue's results comment is printed.

The sandbox lives in PROJECT/.gitml/sandbox (git-ignored), replaced on each run.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from gitml import config as config_mod
from gitml import dvcrepo
from gitml import reproduce as reproduce_mod
from gitml.proc import git

SANDBOX = Path(".gitml") / "sandbox"


def _section(title: str) -> str:
    return f"\n=== {title} ===\n"


def reproduce_project(root: Path) -> str:
    name, url = dvcrepo.default_remote(root)
    result = reproduce_mod.reproduce(root, push=True)
    return f"DVC remote {name!r} at {url}\n" + reproduce_mod.render_summary(result)


def release_and_promote(clone: Path, branch: str) -> str:
    """Release main, merge the PR branch, release it, promote it to staging and prod, fetch prod."""
    from gitml.registry import api
    from gitml.registry import release as release_mod

    out = []
    git("checkout", "--quiet", "main", cwd=clone)
    out.append("main:   " + release_mod.render(release_mod.release(clone, sha="HEAD")))
    git("merge", "--quiet", "--no-ff", "-m", f"Merge {branch}", branch, cwd=clone)
    git("push", "--quiet", "origin", "main", cwd=clone)
    merged = release_mod.release(clone, sha="HEAD")
    out.append("merged: " + release_mod.render(merged))
    artifact = merged.released[0]["artifact"] if merged.released else "model"
    version = api.list_artifacts(clone)
    latest = next(a["latest"] for a in version["artifacts"] if a["name"] == artifact)
    for stage in ("staging", "prod"):
        tag = api.promote(clone, artifact, latest, stage, push=True)
        out.append(f"promoted {artifact} {latest} to {stage} ({tag.tag})")
    fetched = api.fetch(clone, artifact, clone / ".gitml" / f"{artifact}-prod.joblib", stage="prod", force=True)
    out.append(f"fetched {artifact} in prod ({fetched['version']}) from the DVC remote -> {fetched['out']}")
    out.append(_section("Registry (gitml registry list)").strip("\n"))
    out.append(api.render_list(api.list_artifacts(clone)))
    return "\n".join(out)


def run(repo: str | Path = ".", echo: Callable[[str], None] = print) -> None:
    """Run the main job, printing each part as it finishes."""
    from gitml import sandbox

    root = config_mod.load(repo).root
    echo(_section("1. Reproduce the pipeline and push to the DVC remote"))
    echo(reproduce_project(root))

    workdir = root / SANDBOX
    shutil.rmtree(workdir, ignore_errors=True)
    echo(_section(f"2. A pull request in a sandbox ({workdir})"))
    sb = sandbox.pr_loop(root, workdir)
    echo(f"branch {sb.branch}: {sb.param} {sb.old_value} -> {sb.new_value}; comment saved to {sb.comment_path}\n")
    echo(sb.markdown)

    echo(_section("3. Merge, release, promote to prod, fetch the prod model"))
    echo(release_and_promote(sb.clone, sb.branch))

    from gitml.monitor import demo as monitor_demo

    echo(_section("4. Serve the prod model on loopback, send requests, check drift"))
    echo(monitor_demo.serve_and_drift(sb.clone, "model", stage="prod"))

    from gitml.experiments import demo as experiments_demo

    comment = experiments_demo.DEFAULT_COMMENT
    echo(_section(f"5. An experiment from an issue comment: {comment}"))
    echo(experiments_demo.run_from_comment(sb.clone, comment))
