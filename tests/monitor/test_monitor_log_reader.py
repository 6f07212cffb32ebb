"""Reading the prediction log: the fast (pyarrow) and the line-by-line readers agree; bad lines and gaps are handled."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gitml.errors import GitmlError
from gitml.monitor.data import read_prediction_log
from gitml.serve.predlog import PredictionLog

FEATURES = [("a", "float"), ("b", "float")]


def _write(path: Path) -> None:
    with PredictionLog(path, max_bytes=600, backups=50) as plog:
        for i in range(30):
            frame = pd.DataFrame({"a": [float(i), i + 0.5], "b": [1.0, 2.0]})
            plog.log(f"r{i}", "m", "v1" if i < 20 else "v2", frame, [0, 1], np.array([[0.7, 0.3], [0.4, 0.6]]))


def test_fast_and_line_by_line_readers_agree_across_rotated_files(tmp_path: Path) -> None:
    log = tmp_path / "p.jsonl"
    _write(log)
    fast = read_prediction_log(log, features=FEATURES)
    slow = read_prediction_log(log)
    assert fast.rows == slow.rows == 60 and fast.records == 30
    pd.testing.assert_frame_equal(fast.frame, slow.frame)
    for attr in ("probabilities", "request_ids", "row_in_request", "versions"):
        assert np.array_equal(getattr(fast, attr), getattr(slow, attr))
    assert fast.request_ids[:4].tolist() == ["r0", "r0", "r1", "r1"] and fast.row_in_request[:4].tolist() == [0, 1, 0, 1]
    only_v2 = read_prediction_log(log, version="v2", features=FEATURES)
    assert only_v2.rows == 20 and set(only_v2.versions) == {"v2"}


def test_a_torn_line_and_a_record_without_a_feature(tmp_path: Path) -> None:
    log = tmp_path / "p.jsonl"
    rec = {"ts": 1.0, "request_id": "x", "model": "m", "version": "v1", "inputs": {"a": [1.0]}, "predictions": [0],
           "probabilities": [[0.9, 0.1]]}
    full = {**rec, "request_id": "y", "inputs": {"a": [2.0], "b": [3.0]}}
    log.write_text(json.dumps(full) + "\n" + json.dumps(rec) + "\n" + '{"ts": 2.0, "inputs": {"a": [')
    cur = read_prediction_log(log, features=FEATURES)
    assert cur.rows == 2 and "1 unreadable lines skipped" in cur.source
    assert cur.frame["b"].tolist()[0] == 3.0 and np.isnan(cur.frame["b"].tolist()[1])
    assert read_prediction_log(log, since=0.5, until=1.5).rows == 2
    with pytest.raises(GitmlError, match="holds no records"):
        read_prediction_log(log, since=5.0)
    with pytest.raises(GitmlError, match="no prediction log"):
        read_prediction_log(tmp_path / "absent.jsonl")


def test_since_takes_spans_and_times() -> None:
    import time

    from gitml.monitor.cli import parse_since

    assert parse_since(None) is None
    assert abs(parse_since("24h") - (time.time() - 86400)) < 5
    assert parse_since("2024-05-01T00:00:00Z") == 1714521600.0
    with pytest.raises(GitmlError, match="is not a span or a time"):
        parse_since("yesterday")
