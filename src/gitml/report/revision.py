"""Read one revision of a DVC project: git-tracked files through git, DVC outputs through the cache.

A base revision's outputs (metrics, plots, statistics) are not in git. They are read
by hash: `dvc.lock` at that revision names each output's md5, and the object is taken
from the local DVC cache, or straight from a local remote, and only when neither holds
it through `dvc.api` (slow, but works with any remote). No checkout, no `dvc pull` of
the whole project: building a report from two revisions takes well under a second.
"""

from __future__ import annotations

import configparser
import csv
import io
import json
import os
import subprocess
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from gitml.errors import GitmlError
from gitml.params import ParamsLoader


@dataclass(frozen=True)
class Output:
    """One path recorded in dvc.lock or a .dvc file: its hash and whether it is a directory."""

    path: str
    md5: str
    legacy: bool  # DVC 2 layout (cache/xx/yyy) rather than DVC 3 (cache/files/md5/xx/yyy)
    size: int | None = None
    nfiles: int | None = None

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, check=False)


def _dvc_config(root: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    for name in ("config", "config.local"):
        path = root / ".dvc" / name
        if path.exists():
            try:
                parser.read_string(path.read_text(encoding="utf-8"))
            except configparser.Error:
                continue
    return parser


def cache_dirs(root: Path) -> list[Path]:
    """Where this project's DVC objects can be read directly: the local cache, then a local default remote."""
    cfg = _dvc_config(root)
    dvc_dir = root / ".dvc"
    cache = cfg.get("cache", "dir", fallback=None)
    dirs = [Path(os.path.expanduser(cache)) if cache else dvc_dir / "cache"]
    if cache and not dirs[0].is_absolute():
        dirs[0] = (dvc_dir / dirs[0]).resolve()
    remote = cfg.get("core", "remote", fallback=None)
    url = cfg.get(f'remote "{remote}"', "url", fallback=None) if remote else None
    if url and ("://" not in url or url.startswith("file://")):
        path = Path(os.path.expanduser(url.removeprefix("file://")))
        dirs.append(path if path.is_absolute() else (dvc_dir / path).resolve())
    return dirs


class Revision:
    """A revision (`rev`, any git revision) or the work tree (`rev=None`) of the project at `root`."""

    def __init__(self, root: str | Path, rev: str | None = None) -> None:
        self.root = Path(root)
        self.rev = rev
        self._missing: list[str] = []

    def __repr__(self) -> str:
        return f"Revision({str(self.root)!r}, {self.rev!r})"

    @cached_property
    def sha(self) -> str | None:
        proc = _git(self.root, "rev-parse", "--verify", "-q", f"{self.rev or 'HEAD'}^{{commit}}")
        return proc.stdout.decode().strip() or None

    # -- git-tracked files ----------------------------------------------------

    def read_tracked(self, path: str) -> str | None:
        """A file as git holds it at this revision (the work tree's copy for rev=None); None when absent."""
        if self.rev is None:
            p = self.root / path
            return p.read_text(encoding="utf-8") if p.is_file() else None
        proc = _git(self.root, "show", f"{self.rev}:{path}")
        return proc.stdout.decode("utf-8") if proc.returncode == 0 else None

    def yaml(self, path: str) -> Any:
        text = self.read_tracked(path)
        if text is None:
            return None
        try:
            return yaml.load(text, Loader=ParamsLoader)  # noqa: S506 - a SafeLoader (reads 1e-05 as a float)
        except yaml.YAMLError as exc:
            raise GitmlError(f"{path} at {self.label} is not valid YAML: {exc}") from exc

    @property
    def label(self) -> str:
        return self.rev or "the work tree"

    @cached_property
    def dvc_yaml(self) -> dict[str, Any]:
        return self.yaml("dvc.yaml") or {}

    @cached_property
    def lock(self) -> dict[str, Any]:
        return self.yaml("dvc.lock") or {}

    @cached_property
    def dvc_files(self) -> list[str]:
        """Paths of the .dvc files (data tracked with `dvc add`) at this revision."""
        if self.rev is None:
            proc = _git(self.root, "ls-files", "--cached", "--others", "--exclude-standard", "-z", "*.dvc")
        else:
            proc = _git(self.root, "ls-tree", "-r", "-z", "--name-only", self.rev)
        names = proc.stdout.decode().split("\0")
        return sorted(n for n in names if n.endswith(".dvc") and not n.startswith(".dvc/"))

    @cached_property
    def outputs(self) -> dict[str, Output]:
        """Every DVC-tracked path: stage outputs in dvc.lock, and data tracked by .dvc files."""
        found: dict[str, Output] = {}

        def add(path: str, entry: dict[str, Any], base: str = "") -> None:
            if not isinstance(entry, dict) or "md5" not in entry:
                return
            full = os.path.normpath(os.path.join(base, path)).replace(os.sep, "/")
            found[full] = Output(full, str(entry["md5"]), entry.get("hash") != "md5",
                                 entry.get("size"), entry.get("nfiles"))

        for stage in (self.lock.get("stages") or {}).values():
            for entry in stage.get("outs") or []:
                add(entry.get("path", ""), entry)
        for name in self.dvc_files:
            data = self.yaml(name) or {}
            for entry in data.get("outs") or []:
                add(entry.get("path", ""), entry, os.path.dirname(name))
        return found

    @cached_property
    def deps(self) -> dict[str, Output]:
        """Stage dependencies recorded in dvc.lock (inputs such as external data), keyed by path."""
        found: dict[str, Output] = {}
        for stage in (self.lock.get("stages") or {}).values():
            for entry in stage.get("deps") or []:
                if isinstance(entry, dict) and "md5" in entry:
                    path = str(entry.get("path", ""))
                    found[path] = Output(path, str(entry["md5"]), entry.get("hash") != "md5",
                                         entry.get("size"), entry.get("nfiles"))
        return found

    # -- DVC outputs ----------------------------------------------------------

    @cached_property
    def _dirs(self) -> list[Path]:
        return cache_dirs(self.root)

    def _object(self, md5: str, legacy: bool) -> bytes | None:
        for base in self._dirs:
            obj = (base / md5[:2] / md5[2:]) if legacy else (base / "files" / "md5" / md5[:2] / md5[2:])
            if obj.is_file():
                return obj.read_bytes()
        return None

    def read_output(self, path: str) -> bytes | None:
        """The bytes of a DVC-tracked file (or a file inside a tracked directory) at this revision; None when absent."""
        path = path.replace(os.sep, "/").strip("/")
        if self.rev is None:
            p = self.root / path
            return p.read_bytes() if p.is_file() else None
        for out in self.outputs.values():
            if out.path == path and not out.is_dir:
                data = self._object(out.md5, out.legacy)
                return data if data is not None else self._via_dvc(path)
            if out.is_dir and path.startswith(out.path + "/"):
                manifest = self._object(out.md5, out.legacy)
                if manifest is None:
                    return self._via_dvc(path)
                rel = path[len(out.path) + 1:]
                for item in json.loads(manifest):
                    if item.get("relpath") == rel:
                        data = self._object(item["md5"], out.legacy)
                        return data if data is not None else self._via_dvc(path)
                return None
        return None

    def _via_dvc(self, path: str) -> bytes | None:
        """Fetch through DVC from whatever remote the project uses (any protocol)."""
        import dvc.api

        try:
            return dvc.api.read(path, repo=str(self.root), rev=self.rev, mode="rb")
        except Exception as exc:  # noqa: BLE001 - DVC raises many types; the report says what is missing
            self._missing.append(f"{path}: {type(exc).__name__}")
            return None

    @property
    def missing(self) -> list[str]:
        """Outputs that could not be read (not in the cache nor in the remote)."""
        return list(self._missing)

    def read_json(self, path: str) -> Any:
        data = self.read_output(path)
        if data is None:
            return None
        try:
            return json.loads(data)
        except json.JSONDecodeError as exc:
            raise GitmlError(f"{path} at {self.label} is not valid JSON: {exc}") from exc

    def read_records(self, path: str) -> list[dict[str, Any]] | None:
        """Rows of a DVC plot file: JSON (a list, or an object holding one list), CSV or TSV."""
        data = self.read_output(path)
        if data is None:
            return None
        if path.endswith((".csv", ".tsv")):
            reader = csv.DictReader(io.StringIO(data.decode("utf-8")), delimiter="\t" if path.endswith(".tsv") else ",")
            return [dict(row) for row in reader]
        obj = json.loads(data)
        if isinstance(obj, dict):
            lists = [v for v in obj.values() if isinstance(v, list)]
            obj = lists[0] if lists else []
        return [r for r in obj if isinstance(r, dict)] if isinstance(obj, list) else None


@dataclass
class Snapshot:
    """What a report needs from one revision."""

    rev: str | None
    sha: str | None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    deps: dict[str, Output] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    plots: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists stay values."""
    if not isinstance(obj, dict):
        return {prefix: obj} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def plot_files(dvc_yaml: dict[str, Any]) -> set[str]:
    """The data files the top-level `plots:` of dvc.yaml draw from."""
    files: set[str] = set()
    for item in dvc_yaml.get("plots") or []:
        if isinstance(item, dict):
            for spec in item.values():
                y = (spec or {}).get("y") if isinstance(spec, dict) else None
                if isinstance(y, dict):
                    files.update(y)
    return files


def snapshot(rev: Revision, *, params_file: str, metrics_file: str, stats_files: tuple[str, ...],
             plots: set[str]) -> Snapshot:
    """Read params, metrics, data statistics and plot data of one revision."""
    metrics_raw = rev.read_json(metrics_file)
    metrics = {k: float(v) for k, v in flatten(metrics_raw or {}).items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    stats: dict[str, Any] = {}
    for path in stats_files:
        for key, value in flatten(rev.read_json(path) or {}).items():
            if key != "version":
                stats[f"{path}:{key}"] = value
    return Snapshot(
        rev=rev.rev,
        sha=rev.sha,
        params=flatten(rev.yaml(params_file) or {}),
        metrics=metrics,
        outputs=dict(rev.outputs),
        deps=dict(rev.deps),
        stats=stats,
        plots={p: rows for p in sorted(plots) if (rows := rev.read_records(p)) is not None},
        missing=rev.missing,
    )
