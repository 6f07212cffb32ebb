"""The data monitoring compares: the reference (training data of a registered version, at its own revision)
and the current data (the prediction log, or a data file)."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
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


@dataclass
class _Chunk:
    columns: dict[str, np.ndarray]
    probabilities: np.ndarray
    request_ids: np.ndarray
    rows: np.ndarray
    versions: np.ndarray
    records: int
    bad: int = 0


def _keep(version: str | None, since: float | None, until: float | None, rec_version: Any, ts: Any) -> bool:
    return not ((version is not None and rec_version != version) or (since is not None and ts < since)
                or (until is not None and ts > until))


def _read_python(path: Path, version: str | None, since: float | None, until: float | None) -> _Chunk:
    """Any log file, line by line (skips and counts lines that are not records, e.g. a torn last line)."""
    columns: dict[str, list[Any]] = {}
    probs: list[Any] = []
    ids: list[str] = []
    lengths: list[int] = []
    versions: list[str] = []
    bad = 0
    with open(path, "rb") as fh:
        for line in fh:
            try:
                rec = _loads(line)
                inputs = rec["inputs"]
                n = len(rec["predictions"])
            except (ValueError, KeyError, TypeError):
                bad += 1
                continue
            if not _keep(version, since, until, rec.get("version"), rec.get("ts", 0)):
                continue
            total = len(ids)
            for name, values in inputs.items():
                col = columns.get(name)
                if col is None:
                    col = columns[name] = [None] * total
                col.extend(values)
            probs.extend(rec["probabilities"])
            ids.extend([rec.get("request_id", "")] * n)
            versions.extend([rec.get("version", "")] * n)
            lengths.append(n)
            for col in columns.values():  # a feature absent from a record is null there
                if len(col) < total + n:
                    col.extend([None] * (total + n - len(col)))
    arrays = {name: np.asarray(v, dtype=np.float64) if _numeric(v) else np.asarray(v, dtype=object) for name, v in columns.items()}
    return _Chunk(arrays, np.asarray(probs, dtype=np.float64).reshape(len(ids), -1) if ids else np.zeros((0, 0)),
                  np.asarray(ids, dtype=object), _row_numbers(np.asarray(lengths, dtype=np.int64)),
                  np.asarray(versions, dtype=object), len(lengths), bad)


def _row_numbers(lengths: np.ndarray) -> np.ndarray:
    """0..n-1 within each request, for requests of the given lengths."""
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total, dtype=np.int64) - starts


def _read_arrow(path: Path, features: list[tuple[str, str]], version: str | None, since: float | None,
                until: float | None) -> _Chunk | None:
    """A log file through pyarrow's multithreaded JSON reader; None when the file needs the line-by-line path."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import json as pj

    item = {"category": pa.string()}
    schema = pa.schema([
        ("ts", pa.float64()), ("request_id", pa.string()), ("version", pa.string()),
        ("inputs", pa.struct([(n, pa.list_(item.get(t, pa.float64()))) for n, t in features])),
        ("probabilities", pa.list_(pa.list_(pa.float64()))),
    ])
    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    table = None
    for block in (4 << 20, 128 << 20):  # small blocks parse in parallel; a line longer than a block needs the big one
        try:
            table = pj.read_json(path, read_options=pj.ReadOptions(block_size=block), parse_options=parse)
            break
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError):
            continue
    if table is None:
        return None
    mask = None
    for cond in ((pc.equal(table["version"], version) if version is not None else None),
                 (pc.greater_equal(table["ts"], since) if since is not None else None),
                 (pc.less_equal(table["ts"], until) if until is not None else None)):
        if cond is not None:
            mask = cond if mask is None else pc.and_(mask, cond)
    if mask is not None:
        table = table.filter(pc.fill_null(mask, False))
    probs = table["probabilities"].combine_chunks()
    lengths = pc.list_value_length(probs)
    if lengths.null_count:
        return None
    n = lengths.to_numpy()
    inputs = table["inputs"].combine_chunks()
    columns: dict[str, np.ndarray] = {}
    for name, dtype in features:
        field = pc.struct_field(inputs, name)
        if field.null_count or not np.array_equal(pc.list_value_length(field).to_numpy(), n):
            return None  # a record without this feature: the line-by-line path fills it with nulls
        flat = pc.list_flatten(field)
        columns[name] = flat.to_numpy(zero_copy_only=False) if dtype == "category" else \
            pc.fill_null(pc.cast(flat, pa.float64()), float("nan")).to_numpy(zero_copy_only=False)
    flat_probs = pc.list_flatten(probs)
    width = int(pc.list_value_length(flat_probs)[0].as_py()) if len(flat_probs) else 0
    prob = pc.list_flatten(flat_probs).to_numpy(zero_copy_only=False).reshape(-1, width) if width else np.zeros((0, 0))
    return _Chunk(columns, prob, np.repeat(table["request_id"].to_numpy(zero_copy_only=False), n),
                  _row_numbers(n), np.repeat(table["version"].to_numpy(zero_copy_only=False), n), table.num_rows)


def read_prediction_log(path: str | os.PathLike[str], *, version: str | None = None, since: float | None = None,
                        until: float | None = None, features: list[tuple[str, str]] | None = None) -> Current:
    """Every logged row (the log and its rotated files), optionally only one model version's, or in [since, until].

    With `features` ((name, dtype) of the served schema), files are parsed by pyarrow's multithreaded JSON
    reader; a file it cannot take (a torn line, a record missing a feature) is read line by line.
    """
    files = log_files(path)
    if not files:
        raise GitmlError(f"no prediction log at {path}", hint="serve the model (gitml serve) or pass --data FILE")
    def read(f: Path) -> _Chunk:
        chunk = _read_arrow(f, features, version, since, until) if features else None
        return chunk if chunk is not None else _read_python(f, version, since, until)

    if features and len(files) > 1:  # pyarrow parses without the GIL: files in parallel
        with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 4)) as pool:
            chunks = list(pool.map(read, files))
    else:
        chunks = [read(f) for f in files]
    chunks = [c for c in chunks if c.records]
    records = sum(c.records for c in chunks)
    bad = sum(c.bad for c in chunks)
    if records == 0:
        raise GitmlError(f"the prediction log at {path} holds no records" + (f" of version {version}" if version else ""),
                         hint="send some predictions first, or check --version / --since")
    names = list(dict.fromkeys(n for c in chunks for n in c.columns))
    frame = pd.DataFrame({
        name: np.concatenate([c.columns[name] if name in c.columns else np.full(len(c.rows), np.nan) for c in chunks])
        for name in names
    })
    return Current(
        source=f"prediction log {path} ({records} requests" + (f", {bad} unreadable lines skipped" if bad else "") + ")",
        frame=frame,
        probabilities=np.concatenate([c.probabilities for c in chunks]),
        request_ids=np.concatenate([c.request_ids for c in chunks]),
        row_in_request=np.concatenate([c.rows for c in chunks]),
        versions=np.concatenate([c.versions for c in chunks]),
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
