"""The pull-request loop on one machine, with no GitHub: a sandbox origin, a branch that changes a param,
`gitml ci pr` on it, and the rendered comment.

    workdir/origin.git   a bare git origin holding the project's committed tree (git archive HEAD:
                         uncommitted changes are left out), on branch main
    workdir/dvc-remote   the sandbox's DVC remote (set with `dvc remote add -d --local`, so the
                         user's own remote is never written to)
    workdir/clone        the working clone where main is reproduced and the PR branch is made

The clone uses the project's DVC cache (`dvc cache dir --local`), so stages the project has
already run are restored from its run cache instead of retrained; only the changed
training runs. The cache is content-addressed: sharing it changes nothing the project sees.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitml import config as config_mod
from gitml import reproduce as reproduce_mod
from gitml.ci import pr as pr_mod
from gitml.errors import GitmlError
from gitml.fsutil import write_text_atomic
from gitml.proc import dvc, git

DEFAULT_PARAM = "train.random_forest.n_estimators"


@dataclass
class SandboxResult:
    workdir: Path
    clone: Path
    branch: str
    param: str
    old_value: Any
    new_value: Any
    comment_path: Path
    markdown: str
    pr: pr_mod.PrResult

    def as_dict(self) -> dict[str, Any]:
        return {"version": 1, "workdir": str(self.workdir), "branch": self.branch, "param": self.param,
                "old": self.old_value, "new": self.new_value, "comment": str(self.comment_path),
                "job": self.pr.as_dict()}


def set_param(text: str, dotted: str, value: Any) -> tuple[str, Any]:
    """Change one scalar in YAML text, keeping comments and layout; return (new text, old value)."""
    import yaml

    keys = dotted.split(".")
    lines = text.splitlines(keepends=True)
    stack: list[tuple[int, str]] = []  # (indent, key) of the enclosing mappings
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)([A-Za-z0-9_.-]+):(\s*)(.*?)(\s+#.*)?$", line.rstrip("\n"))
        if not m or line.lstrip().startswith("#"):
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = [k for _, k in stack] + [m.group(2)]
        if path == keys and m.group(4):
            old = yaml.safe_load(m.group(4))
            new_line = f"{m.group(1)}{m.group(2)}: {yaml.safe_dump(value).strip().removesuffix('...').strip()}"
            lines[i] = new_line + (m.group(5) or "") + ("\n" if line.endswith("\n") else "")
            return "".join(lines), old
        if not m.group(4):
            stack.append((indent, m.group(2)))
    raise GitmlError(f"params file has no scalar {dotted}", hint="pass a dotted key such as train.seed")


def _env() -> dict[str, str]:
    """This process's environment without GitHub Actions variables: the sandbox never talks to GitHub."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_") and k not in ("GH_TOKEN", "CI")}


def _seed_origin(project: Path, workdir: Path) -> Path:
    """A bare origin whose main holds the project's committed tree (HEAD), as one commit."""
    tar = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=project, capture_output=True, check=True).stdout
    seed = workdir / "seed"
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(seed, filter="data")
    origin = workdir / "origin.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(origin), cwd=workdir)
    git("init", "--quiet", "--initial-branch=main", cwd=seed)
    _identity(seed)
    git("add", "-A", cwd=seed)
    git("commit", "--quiet", "-m", "Project (from the checkout's HEAD)", cwd=seed)
    git("push", "--quiet", str(origin), "main", cwd=seed)
    shutil.rmtree(seed)
    return origin


def _identity(repo: Path) -> None:
    if not git("config", "user.name", cwd=repo, check=False):
        git("config", "user.name", "gitml sandbox", cwd=repo)
    if not git("config", "user.email", cwd=repo, check=False):
        git("config", "user.email", "sandbox@gitml.invalid", cwd=repo)


def pr_loop(project_root: str | Path = ".", workdir: str | Path | None = None, *, param: str = DEFAULT_PARAM,
            value: Any = None, share_cache: bool = True, echo: bool = True,
            comment_path: str | Path | None = None) -> SandboxResult:
    """Run the PR loop in a sandbox under workdir; save the comment to PROJECT/reports/pr-comment.md."""
    import tempfile

    cfg = config_mod.load(project_root)
    project = cfg.root
    workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="gitml-sandbox-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if any(workdir.iterdir()):
        raise GitmlError(f"sandbox folder {workdir} is not empty", hint="pass an empty or new folder")
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(_env())
    try:
        origin = _seed_origin(project, workdir)
        clone = workdir / "clone"
        git("clone", "--quiet", str(origin), str(clone), cwd=workdir)
        _identity(clone)
        dvc("remote", "add", "--local", "-d", "-f", "sandbox", str(workdir / "dvc-remote"), cwd=clone)
        if share_cache:
            dvc("cache", "dir", "--local", str(_cache_dir(project)), cwd=clone)

        # main: reproduce (restored from the project's run cache when it has run), push, record dvc.lock
        reproduce_mod.reproduce(clone, push=True, echo=echo)
        if pr_mod.lock_changed(clone):
            git("commit", "--quiet", "-m", "Reproduce the pipeline on main", "--", "dvc.lock", cwd=clone)
        git("push", "--quiet", "origin", "main", cwd=clone)

        # the PR: one param changed on a branch
        params_path = clone / cfg.params
        text, old = set_param(params_path.read_text(encoding="utf-8"), param, 0)
        new = value if value is not None else _new_value(old)
        text, _ = set_param(params_path.read_text(encoding="utf-8"), param, new)
        branch = f"pr/{param.rsplit('.', 1)[-1].replace('_', '-')}-{new}"
        git("checkout", "--quiet", "-b", branch, cwd=clone)
        write_text_atomic(params_path, text)
        git("commit", "--quiet", "-m", f"Change {param} from {old} to {new}", "--", str(cfg.params), cwd=clone)
        git("push", "--quiet", "origin", branch, cwd=clone)

        result = pr_mod.run_pr(clone, base="main", poster="none", push=True, commit=True, git_push=True,
                               branch=branch, status=False, echo=echo, env=os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    target = Path(comment_path) if comment_path else project / "reports" / "pr-comment.md"
    write_text_atomic(target, result.markdown)
    return SandboxResult(workdir, clone, branch, param, old, new, target, result.markdown, result)


def _new_value(old: Any) -> Any:
    if isinstance(old, bool) or not isinstance(old, (int, float)):
        raise GitmlError(f"cannot pick a new value for {old!r}", hint="pass value=...")
    if isinstance(old, int):
        return max(old // 4, 1) if old > 4 else old * 4
    return old / 2


def _cache_dir(project: Path) -> Path:
    from gitml.report.revision import cache_dirs

    return cache_dirs(project)[0]
