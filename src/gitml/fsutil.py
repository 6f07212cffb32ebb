"""Atomic file writes: readers never see a half-written file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write data to path through a temp file in the same directory and os.replace."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(
    path: str | os.PathLike[str], what: str = "", *, missing_hint: str | None = None, invalid_hint: str | None = None
) -> Any:
    """The JSON in a file; a GitmlError names the file (`what` says what it is) when it is missing or not JSON."""
    p = Path(path)
    name = f"{what} {p}".strip()
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise GitmlError(f"{name} does not exist", hint=missing_hint) from exc
    except json.JSONDecodeError as exc:
        raise GitmlError(f"{name} is not valid JSON: {exc}", hint=invalid_hint) from exc
