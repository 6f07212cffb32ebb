"""Checking that a commit's DVC outputs are in the DVC remote (no tag without its artifacts)."""

from __future__ import annotations

import os
from collections import defaultdict

from gitml.errors import GitmlError


def missing_outputs(root: str | os.PathLike[str], commit: str, remote: str | None = None) -> list[str]:
    """Outputs recorded at commit (dvc.lock and .dvc files) that the DVC remote lacks, by path.

    Uses DVC's own collection of used objects at that revision and its remote status
    (directories included, file by file); the working tree is not consulted.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(os.fspath(root)) as repo:
            used: dict = defaultdict(set)
            for _ in repo.brancher(revs=[commit], workspace=False):
                for odb, objs in repo.index.used_objs(force=True, push=True, remote=remote).items():
                    used[odb].update(objs)
            missing: set[str] = set()
            for odb, objs in used.items():
                if odb is not None:  # imports from other repositories live elsewhere
                    continue
                status = repo.cloud.status(objs, remote=remote)
                for hash_info in (*status.new, *status.missing):
                    missing.add(str(hash_info.obj_name or hash_info.value))
    except DvcException as exc:
        raise GitmlError(
            f"cannot check the DVC remote for commit {commit[:12]}: {exc}",
            hint="check the DVC remote configuration (dvc remote list) and its credentials",
        ) from exc
    return sorted(missing)


def require_outputs_in_remote(root: str | os.PathLike[str], commit: str, remote: str | None = None) -> None:
    missing = missing_outputs(root, commit, remote)
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise GitmlError(
            f"{len(missing)} output(s) of commit {commit[:12]} are not in the DVC remote: {shown}",
            hint="run `dvc push` (or `gitml repro`) for that commit first; no version is registered without its artifacts",
        )
