"""Provenance of a registered version: which code, data, params and metrics produced it.

It travels in the annotated tag's message as a parseable block:

    --- gitml provenance v1 ---
    { ...JSON... }
    --- end gitml provenance ---
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml

from gitml import __version__
from gitml.errors import GitmlError
from gitml.registry import gitops

BEGIN = "--- gitml provenance v1 ---"
END = "--- end gitml provenance ---"
FORMAT_VERSION = 1


def _yaml(text: str | None, what: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise GitmlError(f"{what} is not valid YAML: {exc}", hint=f"fix {what}") from exc
    return data if isinstance(data, dict) else {}


def artifacts_at(root: str | os.PathLike[str], commit: str | None = None) -> dict[str, dict[str, Any]]:
    """Artifacts declared under `artifacts:` in dvc.yaml (at commit, or in the working tree)."""
    if commit is None:
        p = Path(root) / "dvc.yaml"
        text = p.read_text(encoding="utf-8") if p.exists() else None
    else:
        text = gitops.show_file(root, commit, "dvc.yaml")
    arts = _yaml(text, "dvc.yaml").get("artifacts") or {}
    if not isinstance(arts, dict):
        raise GitmlError("`artifacts:` in dvc.yaml must be a mapping", hint="declare artifacts as NAME: {path: ..., type: ...}")
    return {str(k): (v if isinstance(v, dict) else {}) for k, v in arts.items()}


def declared_artifact(root: str | os.PathLike[str], name: str, commit: str | None = None) -> dict[str, Any]:
    arts = artifacts_at(root, commit)
    if name not in arts:
        known = ", ".join(sorted(arts)) or "none"
        raise GitmlError(
            f"artifact {name!r} is not declared in dvc.yaml" + (f" at {commit[:12]}" if commit else ""),
            hint=f"declared artifacts: {known}; add it under `artifacts:` with its path",
        )
    if not isinstance(arts[name].get("path"), str):
        raise GitmlError(f"artifact {name!r} in dvc.yaml has no path", hint="give it `path: models/...`")
    return arts[name]


def lock_at(root: str | os.PathLike[str], commit: str) -> dict[str, Any]:
    return _yaml(gitops.show_file(root, commit, "dvc.lock"), "dvc.lock")


def _hash_of(entry: dict[str, Any]) -> str | None:
    for key in ("md5", "etag", "checksum"):
        if isinstance(entry.get(key), str):
            return entry[key]
    return None


def lock_entries(lock: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """(outs, deps, params) recorded in a dvc.lock: path -> hash, path -> hash, file -> {key: value}."""
    outs: dict[str, str] = {}
    deps: dict[str, str] = {}
    params: dict[str, Any] = {}
    stages = lock.get("stages") or {}
    for stage in stages.values() if isinstance(stages, dict) else ():
        if not isinstance(stage, dict):
            continue
        for o in stage.get("outs") or ():
            if isinstance(o, dict) and "path" in o and _hash_of(o):
                outs[str(o["path"])] = _hash_of(o)  # type: ignore[assignment]
        for d in stage.get("deps") or ():
            if isinstance(d, dict) and "path" in d and _hash_of(d):
                deps[str(d["path"])] = _hash_of(d)  # type: ignore[assignment]
        for fname, values in (stage.get("params") or {}).items():
            if isinstance(values, dict):
                params.setdefault(str(fname), {}).update(values)
    for p in outs:
        deps.pop(p, None)  # an intermediate output is data, not an input of the pipeline
    return outs, deps, params


def tracked_data(root: str | os.PathLike[str], commit: str) -> dict[str, str]:
    """Outputs of `.dvc` files at commit (data added with `dvc add`): path -> hash."""
    names = gitops.run(["git", "ls-tree", "-r", "--name-only", commit], cwd=root).stdout.split("\n")
    data: dict[str, str] = {}
    for name in names:
        if not name.endswith(".dvc") or name.startswith(".dvc/"):
            continue
        doc = _yaml(gitops.show_file(root, commit, name), name)
        base = os.path.dirname(name)
        for o in doc.get("outs") or ():
            if isinstance(o, dict) and "path" in o and _hash_of(o):
                data[os.path.normpath(os.path.join(base, str(o["path"])))] = _hash_of(o)  # type: ignore[assignment]
    return data


def fingerprint(root: str | os.PathLike[str], commit: str, path: str, lock: dict[str, Any] | None = None) -> str | None:
    """What identifies the content of path at commit: its DVC hash, else its git object id."""
    outs, _, _ = lock_entries(lock if lock is not None else lock_at(root, commit))
    norm = os.path.normpath(path)
    for out, h in outs.items():
        o = os.path.normpath(out)
        if norm == o:
            return h
        if norm.startswith(o + os.sep):
            return f"{h}:{os.path.relpath(norm, o)}"
    return gitops.object_id(root, commit, path)


def _cache_file(root: Path, md5: str) -> Path:
    return root / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]


def _read_output(root: Path, commit: str, path: str, md5: str | None) -> str | None:
    """Text of a file at commit: from git, else (a DVC output) from the workspace or cache by hash."""
    text = gitops.show_file(root, commit, path)
    if text is not None or md5 is None:
        return text
    ws = root / path
    if ws.is_file() and hashlib.md5(ws.read_bytes()).hexdigest() == md5:
        return ws.read_text(encoding="utf-8")
    cached = _cache_file(root, md5)
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    try:  # from the DVC remote, through DVC
        import dvc.api

        return dvc.api.read(path, repo=str(root), rev=commit, mode="r")
    except Exception:  # noqa: BLE001 - metrics are informative; a missing file is reported as absent
        return None


def _flatten(obj: Any, prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            flat.update(_flatten(v, f"{prefix}{k}."))
    elif isinstance(obj, bool):
        pass
    elif isinstance(obj, (int, float)):
        flat[prefix[:-1]] = float(obj)
    return flat


def metrics_paths(root: str | os.PathLike[str], commit: str, configured: tuple[str, ...]) -> list[str]:
    """Metrics files: the configured ones and those under `metrics:` in dvc.yaml."""
    paths = list(configured)
    dvcyaml = _yaml(gitops.show_file(root, commit, "dvc.yaml"), "dvc.yaml")
    for m in dvcyaml.get("metrics") or ():
        if isinstance(m, str) and m not in paths:
            paths.append(m)
    return paths


def read_metrics(root: str | os.PathLike[str], commit: str, paths: list[str], outs: dict[str, str]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for p in paths:
        text = _read_output(Path(root), commit, p, outs.get(p))
        if text is None:
            continue
        try:
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            continue
        flat = _flatten(data)
        metrics.update(flat if len(paths) == 1 else {f"{p}:{k}": v for k, v in flat.items()})
    return metrics


def collect(
    root: str | os.PathLike[str], commit: str, name: str, artifact: dict[str, Any], metrics_files: tuple[str, ...]
) -> dict[str, Any]:
    """Everything that produced `name` at commit."""
    lock = lock_at(root, commit)
    outs, deps, params = lock_entries(lock)
    subject = gitops.git("log", "-1", "--format=%an <%ae>%x00%cI%x00%s", commit, cwd=root).split("\x00")
    return {
        "version": FORMAT_VERSION,
        "gitml": __version__,
        "artifact": {
            "name": name,
            "path": artifact["path"],
            "type": artifact.get("type"),
            "hash": fingerprint(root, commit, artifact["path"], lock),
        },
        "code": {"commit": commit, "author": subject[0], "date": subject[1], "subject": subject[2]},
        "data": {**tracked_data(root, commit), **outs},
        "deps": deps,
        "params": params,
        "metrics": read_metrics(root, commit, metrics_paths(root, commit, metrics_files), outs),
    }


def render_message(title: str, prov: dict[str, Any]) -> str:
    """A tag message: a human summary, then the parseable provenance block."""
    lines = [title, ""]
    code = prov.get("code", {})
    lines.append(f"Commit {code.get('commit', '?')[:12]}: {code.get('subject', '')}")
    if prov.get("metrics"):
        lines.append("Metrics: " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(prov["metrics"].items())))
    lines += ["", BEGIN, json.dumps(prov, indent=1, sort_keys=True), END, ""]
    return "\n".join(lines)


def parse_message(message: str | None) -> dict[str, Any] | None:
    """The provenance block of a tag message, or None (e.g. a tag written by `gto register`)."""
    if not message:
        return None
    start = message.find(BEGIN)
    end = message.find(END, start + 1)
    if start < 0 or end < 0:
        return None
    try:
        data = json.loads(message[start + len(BEGIN) : end])
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
