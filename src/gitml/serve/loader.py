"""Getting a registered version ready to serve: resolve it, fetch model and schema through the registry, check it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError
from gitml.proc import dvc_argv, run
from gitml.registry import api as registry
from gitml.registry import provenance
from gitml.serve.model_holder import LoadedModel, ModelRejected, load_model


def fetch_file(root: str | os.PathLike[str], path: str, rev: str, out: str | os.PathLike[str]) -> Path:
    """A file as it was at rev (a git-tracked file or a DVC output), through `dvc get`."""
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    top = run(["git", "rev-parse", "--show-toplevel"], cwd=root).stdout.strip()
    run([*dvc_argv(), "get", top, path, "--rev", rev, "-o", os.fspath(target), "--force"], cwd=root,
        hint=f"check that {path} exists at {rev} and that the DVC remote holds it (dvc push)")
    return target


def metadata(root: str | os.PathLike[str], name: str, version: str, schema_path: str) -> dict[str, Any]:
    """What /metadata shows: code commit, data hashes, offline metrics, from the version's provenance."""
    view = registry.show(root, name, version=version)["versions"][0]
    data_dir = os.path.dirname(schema_path) or schema_path
    try:
        data_hash = provenance.fingerprint(root, view["commit"], data_dir)
    except GitmlError:
        data_hash = None
    return {
        "tag": view.get("tag"),
        "commit": view["commit"],
        "created_at": view.get("created_at"),
        "artifact_hash": view.get("artifact_hash"),
        "data_hash": data_hash,
        "data": view.get("data", {}),
        "metrics": view.get("metrics", {}),
        "params": view.get("params", {}),
    }


def prepare_version(
    root: str | os.PathLike[str],
    name: str,
    version: str,
    *,
    stage: str | None = None,
    schema_path: str = "data/prepared/schema.json",
    cache_dir: str | os.PathLike[str] | None = None,
) -> LoadedModel:
    """Fetch and check a registered version (labelled with the stage it serves); ModelRejected when it cannot be served."""
    v = registry.resolve(root, name, version=version)
    folder = Path(cache_dir or Path(root) / ".gitml" / "serve") / name / v.version
    ready = folder / ".ready"
    model_file = folder / "model"
    schema_file = folder / "schema.json"
    if not ready.exists():
        tmp = folder.with_name(folder.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            registry.fetch(root, name, tmp / "model", version=v.version, force=True)
            ref = v.registration.tag if v.registration else v.commit
            fetch_file(root, schema_path, ref, tmp / "schema.json")
        except GitmlError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ModelRejected(f"{name} {v.version} could not be fetched: {exc}") from exc
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        ready.touch()
    return load_model(model_file, schema_file, name=name, version=v.version, stage=stage,
                      metadata=metadata(root, name, v.version, schema_path))
