"""The data monitoring compares: the reference (training data of a registered version, at its own revision)
and the current data (the prediction log, or a data file)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gitml.errors import GitmlError
from gitml.registry import api as registry
from gitml.serve.loader import fetch_file, prepare_version
from gitml.serve.model_holder import LoadedModel
from gitml.serve.predlog import log_files

try:
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads


@dataclass
class Reference:
    model: LoadedModel
    frame: pd.DataFrame  # the training data's feature columns
    path: str
    tag: str | None
    commit: str

    @property
    def version(self) -> str:
        return self.model.version


@dataclass
class Current:
    source: str
    frame: pd.DataFrame  # feature columns as received
    probabilities: np.ndarray | None = None  # (rows, classes) as served, from the log
    request_ids: np.ndarray | None = None  # per row (log only)
    row_in_request: np.ndarray | None = None  # per row (log only)
    versions: np.ndarray | None = None  # model version that answered, per row (log only)
    records: int = 0

    @property
    def rows(self) -> int:
        return len(self.frame)


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A data file: Parquet, CSV or JSON Lines (by extension)."""
    p = Path(path)
    if not p.exists():
        raise GitmlError(f"data file {p} does not exist")
    suffix = p.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(p)
        if suffix == ".csv":
            return pd.read_csv(p)
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(p, lines=True)
        if suffix == ".json":
            return pd.read_json(p)
    except (ValueError, OSError) as exc:
        raise GitmlError(f"cannot read {p}: {exc}") from exc
    raise GitmlError(f"cannot read {p}: unknown file type {suffix!r}", hint="use .parquet, .csv or .jsonl")


def read_prediction_log(path: str | os.PathLike[str], *, version: str | None = None, since: float | None = None,
                        until: float | None = None) -> Current:
    """Every logged row (the log and its rotated files), optionally only one model version's, or in [since, until]."""
    files = log_files(path)
    if not files:
        raise GitmlError(f"no prediction log at {path}", hint="serve the model (gitml serve) or pass --data FILE")
    columns: dict[str, list[Any]] = {}
    probs: list[Any] = []
    ids: list[str] = []
    row_idx: list[np.ndarray] = []
    versions: list[str] = []
    records = 0
    bad = 0
    for f in files:
        with open(f, "rb") as fh:
            for line in fh:
                try:
                    rec = _loads(line)
                    inputs = rec["inputs"]
                    n = len(rec["predictions"])
                except (ValueError, KeyError, TypeError):
                    bad += 1  # a torn last line after a crash, or foreign content: skipped, counted
                    continue
                ts = rec.get("ts", 0)
                if ((version is not None and rec.get("version") != version) or (since is not None and ts < since)
                        or (until is not None and ts > until)):
                    continue
                for name, values in inputs.items():
                    col = columns.get(name)
                    if col is None:
                        col = columns[name] = [None] * sum(len(r) for r in row_idx)
                    col.extend(values)
                probs.extend(rec["probabilities"])
                ids.extend([rec.get("request_id", "")] * n)
                row_idx.append(np.arange(n))
                versions.extend([rec.get("version", "")] * n)
                records += 1
                total = len(ids)
                for col in columns.values():  # a feature absent from a record is null there
                    if len(col) < total:
                        col.extend([None] * (total - len(col)))
    if records == 0:
        raise GitmlError(f"the prediction log at {path} holds no records" + (f" of version {version}" if version else ""),
                         hint="send some predictions first, or check --version / --since")
    frame = pd.DataFrame({name: np.asarray(values, dtype=np.float64) if _numeric(values) else pd.array(values, dtype=object)
                          for name, values in columns.items()})
    return Current(
        source=f"prediction log {path} ({records} requests" + (f", {bad} unreadable lines skipped" if bad else "") + ")",
        frame=frame,
        probabilities=np.asarray(probs, dtype=np.float64),
        request_ids=np.asarray(ids, dtype=object),
        row_in_request=np.concatenate(row_idx),
        versions=np.asarray(versions, dtype=object),
        records=records,
    )


def _numeric(values: list[Any]) -> bool:
    sample = values[:1000]
    return all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in sample)


def load_reference(root: str | os.PathLike[str], name: str, *, stage: str | None = None, version: str | None = None,
                   schema_path: str, reference_path: str, cache_dir: str | os.PathLike[str] | None = None) -> Reference:
    """The model of the version in stage (or of version), its served schema, and its training data."""
    v = registry.resolve(root, name, version=version, stage=stage)
    cache = Path(cache_dir or Path(root) / ".gitml" / "serve")
    loaded = prepare_version(root, name, v.version, stage=stage, schema_path=schema_path, cache_dir=cache)
    ref_file = cache / name / v.version / ("reference" + (Path(reference_path).suffix or ".parquet"))
    ref = v.registration.tag if v.registration else v.commit
    if not ref_file.exists():
        tmp = ref_file.with_name(ref_file.name + ".partial")
        fetch_file(root, reference_path, ref, tmp)
        os.replace(tmp, ref_file)
    frame = read_table(ref_file)
    missing = [n for n in loaded.schema.names if n not in frame.columns]
    if missing:
        raise GitmlError(f"the reference data {reference_path} at {ref} lacks feature {missing[0]!r}",
                         hint="point [tool.gitml.monitor].reference at the training data of the model")
    return Reference(loaded, frame[loaded.schema.names], reference_path, ref, v.commit)


def positive_scores(probabilities: np.ndarray) -> np.ndarray:
    """The score monitored for prediction drift: the last class's probability (binary), else the top probability."""
    if probabilities.ndim != 2 or probabilities.shape[0] == 0:
        return np.array([])
    return probabilities[:, -1] if probabilities.shape[1] == 2 else probabilities.max(axis=1)
