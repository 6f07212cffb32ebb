"""The main job on the embedded defaults: reproduce the pipeline, push to the DVC remote, show metrics."""

from __future__ import annotations

from pathlib import Path

from gitml import dvcrepo
from gitml import reproduce as reproduce_mod


def run(repo: str | Path = ".") -> str:
    name, url = dvcrepo.default_remote(repo)
    result = reproduce_mod.reproduce(repo, push=True)
    return f"DVC remote {name!r} at {url}\n" + reproduce_mod.render_summary(result)
