"""Following a stage: poll the git remote's tags; when the stage tag moves, fetch, check and swap in the new version.

`git ls-remote --tags` is cheap; tags are fetched only when the artifact's tags
on the remote changed. The stage is then resolved from the local tags with the
registry (one `git for-each-ref`). A version that fails to fetch, load or score is
refused (and not retried until the tags move again); the old one keeps serving.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from gitml.errors import GitmlError
from gitml.proc import run
from gitml.registry import api as registry
from gitml.registry import gitops
from gitml.serve.model_holder import LoadedModel, ModelHolder

log = logging.getLogger("gitml.serve")


def sync_tags(root: str | os.PathLike[str], name: str, remote: str, seen: str | None = None) -> str | None:
    """Fetch tags from remote when the artifact's tags there differ from `seen`; return what the remote lists.

    Without that git remote (a local repository) its own tags are the truth: nothing to fetch.
    """
    if not gitops.has_remote(root, remote):
        return None
    out = run(["git", "ls-remote", "--tags", "--", remote], cwd=root,
              hint=f"check that the git remote {remote} is reachable").stdout
    prefixes = (f"refs/tags/{name}@", f"refs/tags/{name}#")
    listing = "\n".join(sorted(line for line in out.splitlines() if line.split("\t")[-1].startswith(prefixes)))
    if listing != seen:
        gitops.fetch_tags(root, remote)
    return listing


class StageFollower:
    def __init__(
        self,
        root: str | os.PathLike[str],
        name: str,
        stage: str,
        holder: ModelHolder,
        prepare: Callable[[str], LoadedModel],
        *,
        remote: str = "origin",
        interval: float = 30.0,
    ) -> None:
        self.root = root
        self.name = name
        self.stage = stage
        self.holder = holder
        self.prepare = prepare
        self.remote = remote
        self.interval = interval
        self.refused: dict[tuple[str, str], str] = {}  # (version, commit) -> why
        self.last_error: str | None = None
        self.polls = 0
        self._seen: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sync_tags(self) -> bool:
        """Fetch tags when the artifact's tags on the remote changed; True when they did."""
        listing = sync_tags(self.root, self.name, self.remote, self._seen)
        changed = listing != self._seen
        self._seen = listing
        return changed

    def poll_once(self) -> str | None:
        """One poll; the version swapped in, or None."""
        self.polls += 1
        try:
            self.sync_tags()
            v = registry.resolve(self.root, self.name, stage=self.stage)
        except GitmlError as exc:
            self.last_error = str(exc)
            log.warning("stage check failed, still serving %s: %s", self.holder.current.version, exc)
            return None
        self.last_error = None
        if v.version == self.holder.current.version:
            return None
        key = (v.version, v.commit)
        if key in self.refused:
            return None
        try:
            new = self.prepare(v.version)
        except GitmlError as exc:
            self.refused[key] = str(exc)
            self.holder.refused()
            log.error("refused %s %s, still serving %s: %s", self.name, v.version, self.holder.current.version, exc)
            return None
        old = self.holder.swap(new)
        log.warning("%s %s: now serving %s (was %s)", self.name, self.stage, new.version, old.version)
        return new.version

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - the follower must outlive any one failed poll
                log.exception("stage poll failed")

    def start(self) -> StageFollower:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="gitml-follower", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
