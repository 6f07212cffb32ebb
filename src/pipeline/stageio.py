"""What every stage shares: argument parsing, atomic outputs, error reporting."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from gitml.errors import GitmlError
from gitml.fsutil import write_bytes_atomic


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return p


def run_main(body: Callable[[], None]) -> int:
    """Run a stage; a GitmlError becomes one line on stderr and exit code 1."""
    try:
        body()
    except GitmlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


@contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp directory that replaces `path` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.with_name(f".{target.name}.old")
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise GitmlError(f"{p} does not exist", hint="run the earlier stages first (dvc repro)")
    return pd.read_parquet(p)


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a Parquet file atomically (compression off: faster, and DVC dedups anyway)."""
    import io

    buf = io.BytesIO()
    df.to_parquet(buf, index=False, compression=None)
    write_bytes_atomic(path, buf.getvalue())


def dump_joblib(obj: object, path: str | os.PathLike[str]) -> None:
    import io

    import joblib

    buf = io.BytesIO()
    joblib.dump(obj, buf)
    write_bytes_atomic(path, buf.getvalue())
