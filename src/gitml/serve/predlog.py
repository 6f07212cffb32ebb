"""The prediction log: one JSON line per request (inputs, outputs, model version, request id), rotated by size.

Requests hand their records to a bounded queue and return at once; a background
thread serialises and writes them. When the queue is full a record is dropped and
counted, never waited for: logging never blocks or fails a prediction.

A record:
    {"ts": 1700000000.123, "request_id": "...", "model": "model", "version": "v1.2.0",
     "inputs": {"feature": [values per row], ...}, "predictions": [...], "probabilities": [[...], ...]}
Inputs are column-major, so reading millions of rows back is cheap.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

try:  # orjson is faster; the standard library is the fallback
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY)
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None  # type: ignore[assignment]

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o)).encode()


@dataclass
class _Entry:
    ts: float
    request_id: str
    model: str
    version: str
    frame: Any  # pandas DataFrame of the inputs
    predictions: list[Any]
    probabilities: np.ndarray


class PredictionLog:
    """A size-rotated JSON Lines file written by one background thread."""

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = 64 * 1024 * 1024, backups: int = 5,
                 queue_size: int = 10000, flush_seconds: float = 0.2) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.flush_seconds = flush_seconds
        self._queue: queue.Queue[_Entry | None] = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.written = 0
        self.dropped = 0
        self.write_errors = 0
        self.rotations = 0

    # -- request side (never blocks, never raises) ------------------------------

    def log(self, request_id: str, model: str, version: str, frame: Any, predictions: list[Any], probabilities: np.ndarray) -> bool:
        try:
            self._queue.put_nowait(_Entry(time.time(), request_id, model, version, frame, predictions, probabilities))
            return True
        except queue.Full:
            with self._lock:
                self.dropped += 1
            return False
        except Exception:  # noqa: BLE001 - logging must never fail a prediction
            with self._lock:
                self.dropped += 1
            return False

    # -- writer side ---------------------------------------------------------------

    def start(self) -> PredictionLog:
        if self._thread is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError:  # counted as write errors by the writer; serving goes on
                pass
            self._thread = threading.Thread(target=self._run, name="gitml-predlog", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the writer."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def __enter__(self) -> PredictionLog:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def encode(e: _Entry) -> bytes:
        frame = e.frame
        if all(dt.kind == "f" for dt in frame.dtypes):  # the usual case: one C-level conversion, not one per column
            inputs = dict(zip(map(str, frame.columns), frame.to_numpy().T.tolist()))
        else:
            inputs = {str(c): frame[c].tolist() for c in frame.columns}
        record = {
            "ts": round(e.ts, 6),
            "request_id": e.request_id,
            "model": e.model,
            "version": e.version,
            "inputs": inputs,
            "predictions": e.predictions,
            "probabilities": e.probabilities,
        }
        return _dumps(record) + b"\n"

    def _open(self) -> Any:
        return open(self.path, "ab")  # noqa: SIM115 - kept open by the writer thread

    def _rotate(self, fh: Any) -> Any:
        fh.close()
        for i in range(self.backups - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{i}")
            if src.exists():
                os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
        if self.backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self.rotations += 1
        return self._open()

    def _run(self) -> None:
        fh = None
        stop = False
        while not stop:
            try:
                first = self._queue.get(timeout=self.flush_seconds)
            except queue.Empty:
                continue
            batch = [first]
            while len(batch) < 1000:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if None in batch:
                stop = True
                batch = [e for e in batch if e is not None]
            try:
                if fh is None:
                    fh = self._open()
                for e in batch:
                    fh.write(self.encode(e))
                    self.written += 1
                    if fh.tell() >= self.max_bytes:
                        fh = self._rotate(fh)
                fh.flush()
            except Exception:  # noqa: BLE001 - a disk problem costs log lines, never the server
                with self._lock:
                    self.write_errors += len(batch)
                if fh is not None:
                    try:
                        fh.close()
                    except OSError:
                        pass
                fh = None
        if fh is not None:
            fh.close()


def log_files(path: str | os.PathLike[str]) -> list[Path]:
    """The log and its rotated files, oldest first."""
    p = Path(path)
    rotated = sorted(p.parent.glob(p.name + ".*"), key=lambda x: -int(x.suffix[1:]) if x.suffix[1:].isdigit() else 0)
    files = [f for f in rotated if f.suffix[1:].isdigit()]
    if p.exists():
        files.append(p)
    return files
