"""The prediction log: JSON Lines, rotated by size, never blocking or failing a request."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gitml.serve.predlog import PredictionLog, log_files


def _frame(n: int = 2) -> pd.DataFrame:
    return pd.DataFrame({"a": np.arange(n, dtype=float), "b": np.ones(n)})


def test_records_are_written_column_major_and_rotated_by_size(tmp_path: Path) -> None:
    path = tmp_path / "log" / "predictions.jsonl"
    with PredictionLog(path, max_bytes=2000, backups=2) as plog:
        for i in range(60):
            assert plog.log(f"r{i}", "model", "v1.0.0", _frame(), [0, 1], np.array([[0.9, 0.1], [0.2, 0.8]]))
    files = log_files(path)
    assert [f.name for f in files] == ["predictions.jsonl.2", "predictions.jsonl.1", "predictions.jsonl"]
    assert all(f.stat().st_size < 2000 + 400 for f in files)
    records = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    ids = [r["request_id"] for r in records]
    assert ids == sorted(ids, key=lambda x: int(x[1:])) and ids[-1] == "r59"  # oldest rotated away, order kept
    assert records[-1]["inputs"] == {"a": [0.0, 1.0], "b": [1.0, 1.0]}
    assert records[-1]["probabilities"] == [[0.9, 0.1], [0.2, 0.8]] and records[-1]["version"] == "v1.0.0"
    assert plog.rotations >= 2 and plog.dropped == 0


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    plog = PredictionLog(tmp_path / "p.jsonl", queue_size=5)  # writer not started: nothing drains the queue
    started = time.perf_counter()
    accepted = [plog.log(f"r{i}", "m", "v1", _frame(), [0, 0], np.zeros((2, 2))) for i in range(50)]
    assert time.perf_counter() - started < 0.5
    assert accepted.count(True) == 5 and plog.dropped == 45


def test_an_unwritable_log_never_fails_the_caller(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the log folder should be")
    plog = PredictionLog(blocker / "p.jsonl")
    with plog:
        assert plog.log("r", "m", "v1", _frame(), [0, 0], np.zeros((2, 2)))
    assert plog.write_errors == 1 and plog.written == 0
