"""Helpers of the runner kit tests: where the recorded outputs and the kit live, a recorded nvidia-smi."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
