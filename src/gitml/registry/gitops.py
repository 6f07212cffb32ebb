"""The few git operations the registry needs (tags, files at a commit, pushes)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gitml.errors import CommandError, GitmlError
from gitml.proc import git, run

PathLike = str | os.PathLike[str]


class TagExistsOnRemote(GitmlError):
    """A push lost a race: the remote already has a tag of that name."""


def resolve_commit(root: PathLike, rev: str) -> str:
    if not rev or rev.startswith("-"):
        raise GitmlError(f"invalid revision {rev!r}", hint="pass a commit, branch or tag, e.g. HEAD")
    proc = run(["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], cwd=root, check=False)
    if proc.returncode != 0:
        raise GitmlError(f"no commit {rev!r} in {root}", hint="pass an existing commit, branch or tag")
    return proc.stdout.strip()


def head_commit(root: PathLike) -> str:
    return resolve_commit(root, "HEAD")


def dirty_files(root: PathLike) -> list[str]:
    """Tracked files with uncommitted changes (staged or not)."""
    out = run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root).stdout
    return [line[3:] for line in out.splitlines() if line.strip()]


def require_clean(root: PathLike) -> None:
    dirty = dirty_files(root)
    if dirty:
        shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        raise GitmlError(
            f"the working tree has uncommitted changes ({shown})",
            hint="commit or stash them first, so the registered version is exactly a commit",
        )


def show_file(root: PathLike, commit: str, path: str) -> str | None:
    """The text of path at commit, or None when it is not in that commit."""
    proc = subprocess.run(
        ["git", "show", f"{commit}:{path}"], cwd=root, capture_output=True, text=True, check=False
    )
    return proc.stdout if proc.returncode == 0 else None


def object_id(root: PathLike, commit: str, path: str) -> str | None:
    proc = run(["git", "rev-parse", "--verify", "--quiet", f"{commit}:{path}"], cwd=root, check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def create_tag(root: PathLike, tag: str, commit: str, message: str) -> None:
    """Create an annotated tag with the message kept verbatim (no comment stripping)."""
    if tag.startswith("-"):
        raise GitmlError(f"refusing tag name {tag!r}", hint="tag names never start with '-'")
    check = run(["git", "check-ref-format", f"refs/tags/{tag}"], cwd=root, check=False)
    if check.returncode != 0:
        raise GitmlError(f"{tag!r} is not a valid git tag name", hint="choose a name made of letters, digits, '-', '_'")
    if run(["git", "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"], cwd=root, check=False).returncode == 0:
        raise GitmlError(f"tag {tag} already exists", hint="fetch tags (git fetch --tags) and pick another version")
    argv = ["git", "tag", "-a", "--cleanup=verbatim", "-F", "-", "--", tag, commit]
    proc = subprocess.run(argv, cwd=root, input=message, text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stdout + proc.stderr)


def delete_local_tag(root: PathLike, tag: str) -> None:
    run(["git", "tag", "-d", "--", tag], cwd=root, check=False)


def has_remote(root: PathLike, remote: str) -> bool:
    return run(["git", "remote", "get-url", "--", remote], cwd=root, check=False).returncode == 0


def require_remote(root: PathLike, remote: str) -> None:
    if not has_remote(root, remote):
        raise GitmlError(f"git remote {remote!r} is not configured", hint=f"add it (git remote add {remote} URL) or pass --remote")


def remote_has_tag(root: PathLike, remote: str, tag: str) -> bool:
    out = run(["git", "ls-remote", "--tags", "--", remote, f"refs/tags/{tag}"], cwd=root).stdout
    return bool(out.strip())


def push_tag(root: PathLike, remote: str, tag: str) -> None:
    """Push one tag; raise TagExistsOnRemote when another push made it first."""
    require_remote(root, remote)
    argv = ["git", "push", "--porcelain", "--", remote, f"refs/tags/{tag}:refs/tags/{tag}"]
    proc = run(argv, cwd=root, check=False)
    if proc.returncode == 0:
        return
    if remote_has_tag(root, remote, tag):
        raise TagExistsOnRemote(f"tag {tag} already exists on {remote}", hint="fetch tags and retry with the next version")
    raise CommandError(argv, proc.returncode, proc.stdout or "", hint=f"check that you may push tags to {remote}")


def fetch_tags(root: PathLike, remote: str) -> None:
    """Fetch every tag from remote (tags only; branches are left alone)."""
    require_remote(root, remote)
    run(["git", "fetch", "--quiet", "--force", "--", remote, "+refs/tags/*:refs/tags/*"], cwd=root,
        hint=f"check that {remote} is reachable")


def toplevel(root: PathLike) -> Path:
    return Path(git("rev-parse", "--show-toplevel", cwd=root))
