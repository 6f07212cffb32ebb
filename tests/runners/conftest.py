"""Fixtures of the runner kit tests: recorded nvidia-smi outputs and a stand-in GitHub API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from github_stub import GitHubStub
from runner_support import DATA, RecordedSmi


@pytest.fixture
def recorded() -> type[RecordedSmi]:
    return RecordedSmi


@pytest.fixture
def smi_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Put the fake nvidia-smi on PATH answering from a scenario directory: call with its name or a path."""
    bindir = tmp_path / "smi-bin"
    bindir.mkdir()
    (bindir / "nvidia-smi").symlink_to(DATA / "fake-nvidia-smi")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")

    def use(scenario: str | Path) -> None:
        monkeypatch.setenv("FAKE_SMI_DIR", str(scenario if isinstance(scenario, Path) else DATA / scenario))

    return use


@pytest.fixture
def github() -> Iterator[GitHubStub]:
    with GitHubStub() as stub:
        yield stub
