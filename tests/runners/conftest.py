"""Fixtures of the runner kit tests: recorded nvidia-smi outputs and a stand-in GitHub API."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from github_stub import GitHubStub

DATA = Path(__file__).parent / "data"
KIT = Path(__file__).resolve().parents[2] / "runner"


class RecordedSmi:
    """nvidia-smi answering from a directory of recorded outputs (like data/fake-nvidia-smi)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> tuple[int, str]:
        self.calls.append(list(argv))
        if (self.directory / "fail.txt").exists():
            return 9, (self.directory / "fail.txt").read_text()
        first = argv[0] if argv else ""
        if first.startswith("--query-gpu=index,uuid,name"):
            name = "query.csv"
        elif first.startswith("--query-gpu=index,uuid,temperature"):
            name = "health.csv"
        elif first.startswith("--query-compute-apps"):
            name = "apps.csv"
        elif first == "-L":
            name = "list.txt"
        else:
            name = "header.txt"
        return 0, (self.directory / name).read_text()


def missing_smi(argv: Sequence[str]) -> tuple[int, str]:
    return 127, "nvidia-smi: command not found"


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
