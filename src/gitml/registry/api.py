"""The registry API: register, promote, deprecate, fetch, and the read views the CLI renders.

Writes check everything first and create the tag last, so a rejected request writes nothing.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError
from gitml.proc import dvc_argv, run
from gitml.registry import gitops, names, provenance, store
from gitml.registry import tags as T
from gitml.registry.settings import RegistrySettings
from gitml.registry.settings import load as load_settings

PathLike = str | os.PathLike[str]


@dataclass
class TagResult:
    """What a write did: the tag it created (or None when there was nothing to do)."""

    artifact: str
    tag: str | None
    commit: str
    version: str | None = None
    stage: str | None = None
    pushed: bool = False
    note: str = ""
    provenance: dict[str, Any] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "provenance"}
        return d


def _state(root: PathLike, name: str, *, messages: bool = False) -> store.ArtifactState:
    return store.load(root, messages=messages, artifact=name).get(name) or store.ArtifactState(name)


def _require_version(art: store.ArtifactState, version: str) -> store.VersionState:
    v = names.parse_version(version)
    found = art.find(str(v))
    if found is None or not found.registered:
        known = ", ".join(x.version for x in art.sorted_versions()[:5]) or "none"
        raise GitmlError(
            f"{art.name} has no version {v}",
            hint=f"registered versions (newest first): {known}; see `gitml registry show {art.name}`",
        )
    if not found.active:
        raise GitmlError(f"{art.name} {v} was deregistered", hint="promote an active version")
    return found


def _require_not_deprecated(art: store.ArtifactState) -> None:
    if art.deprecated is not None:
        raise GitmlError(f"artifact {art.name} is deprecated (tag {art.deprecated.tag})", hint="deprecation is final; register a new artifact name")


def _push(root: PathLike, remote: str, tag: str) -> None:
    try:
        gitops.push_tag(root, remote, tag)
    except BaseException:
        gitops.delete_local_tag(root, tag)  # never leave a local tag the remote refused
        raise


def register(
    root: PathLike,
    name: str,
    *,
    version: str | None = None,
    bump: str | None = None,
    rev: str = "HEAD",
    push: bool = False,
    check_remote: bool = True,
    settings: RegistrySettings | None = None,
) -> TagResult:
    """Register the artifact at rev as a new version (explicit, or the latest bumped)."""
    names.validate_name(name)
    if version is not None and bump is not None:
        raise GitmlError("give either a version or a bump, not both", hint="e.g. --bump minor, or --version v1.2.0")
    explicit = names.parse_version(version) if version is not None else None
    settings = settings or load_settings(root)
    bump = names.validate_bump(bump or settings.bump)
    gitops.require_clean(root)
    commit = gitops.resolve_commit(root, rev)
    artifact = provenance.declared_artifact(root, name, commit)
    if push:
        gitops.require_remote(root, settings.remote)
    art = _state(root, name)
    _require_not_deprecated(art)
    for v in art.sorted_versions():
        if v.commit == commit:
            raise GitmlError(
                f"commit {commit[:12]} is already registered as {name} {v.version}",
                hint="each commit is registered once; make a new commit to register a new version",
            )
    if explicit is not None:
        new = explicit
        if art.find(str(new)) is not None:
            raise GitmlError(f"{name} {new} already exists", hint="pick another version, or omit it to bump the latest")
    else:
        latest = art.latest()
        new = names.next_version(names.parse_version(latest.version) if latest else None, bump)
        while art.find(str(new)) is not None:  # skip deregistered numbers
            new = new.bump("patch")
    if check_remote:
        from gitml.registry.remote import require_outputs_in_remote

        require_outputs_in_remote(root, commit)
    prov = provenance.collect(root, commit, name, artifact, settings.metrics)
    tag = T.register_tag(name, new)
    gitops.create_tag(root, tag, commit, provenance.render_message(f"Register {name} {new}", prov))
    if push:
        _push(root, settings.remote, tag)
    return TagResult(name, tag, commit, version=str(new), pushed=push, provenance=prov)


def promote(
    root: PathLike,
    name: str,
    version: str,
    stage: str,
    *,
    push: bool = False,
    settings: RegistrySettings | None = None,
) -> TagResult:
    """Assign stage to a registered version (tag NAME#STAGE#N on its commit)."""
    names.validate_name(name)
    names.parse_version(version)
    settings = settings or load_settings(root)
    names.validate_stage(stage, settings.stages)
    if push:
        gitops.require_remote(root, settings.remote)
    art = _state(root, name)
    _require_not_deprecated(art)
    v = _require_version(art, version)
    if art.stages.get(stage) == v.version:
        return TagResult(name, None, v.commit, version=v.version, stage=stage, note=f"{name} {v.version} already holds {stage}")
    for before in settings.order.get(stage, ()):
        ever = any(
            e.action == T.ASSIGN and e.stage == before and e.commit == v.commit for e in art.events
        )
        if not ever:
            raise GitmlError(
                f"{name} {v.version} cannot go to {stage} before {before}",
                hint=f"promote it to {before} first; [tool.gitml.registry].order requires {before} before {stage}",
            )
    tag = T.assign_tag(name, stage, art.max_counter + 1)
    gitops.create_tag(root, tag, v.commit, f"Promote {name} {v.version} to {stage}\n")
    if push:
        _push(root, settings.remote, tag)
    return TagResult(name, tag, v.commit, version=v.version, stage=stage, pushed=push)


def deprecate(root: PathLike, name: str, *, push: bool = False, settings: RegistrySettings | None = None) -> TagResult:
    """Mark the artifact deprecated (tag NAME@deprecated on the commit of its latest version)."""
    names.validate_name(name)
    settings = settings or load_settings(root)
    if push:
        gitops.require_remote(root, settings.remote)
    art = _state(root, name)
    if not art.events:
        raise GitmlError(f"artifact {name!r} has no registered versions", hint="see `gitml registry list`")
    if art.deprecated is not None:
        return TagResult(name, None, art.deprecated.commit, note=f"{name} is already deprecated")
    latest = art.latest()
    commit = latest.commit if latest else art.events[-1].commit
    tag = T.deprecate_tag(name)
    gitops.create_tag(root, tag, commit, f"Deprecate {name}\n")
    if push:
        _push(root, settings.remote, tag)
    return TagResult(name, tag, commit, pushed=push)


# -- reads -----------------------------------------------------------------


def which(root: PathLike, name: str, stage: str, settings: RegistrySettings | None = None) -> str:
    """The version holding stage; a GitmlError when none does."""
    names.validate_name(name)
    names.validate_stage(stage)
    art = _state(root, name)
    if stage not in art.stages:
        raise GitmlError(f"no version of {name} is in {stage}", hint=f"promote one: gitml registry promote {name} VERSION {stage}")
    return art.stages[stage]


def resolve(root: PathLike, name: str, *, version: str | None = None, stage: str | None = None) -> store.VersionState:
    """The version asked for by number or by stage."""
    names.validate_name(name)
    if (version is None) == (stage is None):
        raise GitmlError("give exactly one of a version or a stage", hint="e.g. --version v1.2.0 or --stage prod")
    art = _state(root, name)
    if stage is not None:
        names.validate_stage(stage)
        if stage not in art.stages:
            raise GitmlError(f"no version of {name} is in {stage}", hint=f"promote one: gitml registry promote {name} VERSION {stage}")
        return art.versions[art.stages[stage]]
    return _require_version(art, version)  # type: ignore[arg-type]


def list_artifacts(root: PathLike) -> dict[str, Any]:
    """Every artifact (declared in dvc.yaml or seen in tags): latest version and stage holders."""
    state = store.load(root)
    declared = provenance.artifacts_at(root) if (Path(root) / "dvc.yaml").exists() else {}
    out = []
    for name in sorted(set(state) | set(declared)):
        art = state.get(name) or store.ArtifactState(name)
        latest = art.latest()
        out.append(
            {
                "name": name,
                "declared": name in declared,
                "path": declared.get(name, {}).get("path"),
                "type": declared.get(name, {}).get("type"),
                "latest": latest.version if latest else None,
                "versions": len(art.sorted_versions()),
                "stages": dict(sorted(art.stages.items())),
                "deprecated": art.deprecated is not None,
            }
        )
    return {"version": 1, "artifacts": out}


def render_list(data: dict[str, Any]) -> str:
    """`list_artifacts` as text: one line per artifact with its latest version and stages."""
    if not data["artifacts"]:
        return "no artifacts (declare them under `artifacts:` in dvc.yaml)"
    lines = []
    for a in data["artifacts"]:
        stages = ", ".join(f"{s}={v}" for s, v in a["stages"].items()) or "no stages"
        flag = " [deprecated]" if a["deprecated"] else ""
        lines.append(f"{a['name']}{flag}: latest {a['latest'] or '-'} ({a['versions']} versions); {stages}")
    return "\n".join(lines)


def _version_view(v: store.VersionState) -> dict[str, Any]:
    reg = v.registration
    prov = provenance.parse_message(reg.message) if reg else None
    return {
        "version": v.version,
        "commit": v.commit,
        "tag": reg.tag if reg else None,
        "created_at": reg.timestamp if reg else None,
        "author": reg.author if reg else None,
        "author_email": reg.author_email if reg else None,
        "active": v.active,
        "stages": sorted(v.stages),
        "metrics": (prov or {}).get("metrics", {}),
        "params": (prov or {}).get("params", {}),
        "data": (prov or {}).get("data", {}),
        "artifact_hash": ((prov or {}).get("artifact") or {}).get("hash"),
        "code": (prov or {}).get("code"),
        "provenance": prov is not None,
    }


def show(root: PathLike, name: str, *, version: str | None = None) -> dict[str, Any]:
    """An artifact's versions (newest first) with commit, date, author, metrics, data and stages."""
    names.validate_name(name)
    art = _state(root, name, messages=True)
    if not art.events:
        raise GitmlError(f"artifact {name!r} has no registered versions", hint="see `gitml registry list`")
    return show_state(art, version)


def show_state(art: store.ArtifactState, version: str | None = None) -> dict[str, Any]:
    """The `show` view of an artifact state read with messages."""
    if version is not None:
        versions = [_version_view(_require_version(art, version))]
    else:
        versions = [_version_view(v) for v in art.sorted_versions(active_only=False)]
    return {
        "version": 1,
        "name": art.name,
        "deprecated": art.deprecated is not None,
        "stages": dict(sorted(art.stages.items())),
        "versions": versions,
    }


def history(root: PathLike, name: str) -> dict[str, Any]:
    """Every registry event of an artifact, oldest first."""
    names.validate_name(name)
    art = _state(root, name, messages=True)
    if not art.events:
        raise GitmlError(f"artifact {name!r} has no registered versions", hint="see `gitml registry list`")
    by_commit = {v.commit: v.version for v in art.sorted_versions(active_only=False)[::-1] if v.registered}
    events = []
    for e in art.events:
        d = e.as_dict()
        d.pop("message", None)
        d["version"] = e.version or by_commit.get(e.commit, e.commit)
        events.append(d)
    return {"version": 1, "name": name, "events": events}


# -- fetch and deploy ------------------------------------------------------


def fetch(
    root: PathLike, name: str, out: PathLike, *, version: str | None = None, stage: str | None = None, force: bool = False
) -> dict[str, Any]:
    """Download the artifact of a version (or of the version in a stage) from the DVC remote, through DVC."""
    v = resolve(root, name, version=version, stage=stage)
    target = Path(out)
    if target.exists() and not force:
        raise GitmlError(f"{target} already exists", hint="choose another -o path or pass --force")
    artifact = provenance.declared_artifact(root, name, v.commit)
    ref = v.registration.tag if v.registration else v.commit
    argv = [*dvc_argv(), "get", os.fspath(gitops.toplevel(root)), artifact["path"], "--rev", ref, "-o", os.fspath(target)]
    if force:
        argv.append("--force")
    run(argv, cwd=root, hint="check that the DVC remote holds this version (dvc push) and is reachable")
    return {"artifact": name, "version": v.version, "commit": v.commit, "path": artifact["path"], "out": os.fspath(target)}


def deploy(
    root: PathLike,
    *,
    tag: str | None = None,
    name: str | None = None,
    stage: str | None = None,
    out: PathLike | None = None,
    command: str | None = None,
    settings: RegistrySettings | None = None,
) -> dict[str, Any]:
    """Fetch the version now in a stage and run the deploy command on it.

    The stage comes from a stage tag (however it was pushed) or from name and stage.
    The command gets GITML_ARTIFACT, GITML_VERSION, GITML_STAGE, GITML_COMMIT and
    GITML_ARTIFACT_PATH in its environment.
    """
    settings = settings or load_settings(root)
    if tag is not None:
        parsed = T.parse(tag.removeprefix("refs/tags/"))
        if parsed is None or parsed.stage is None:
            raise GitmlError(f"{tag!r} is not a stage tag", hint="stage tags look like NAME#STAGE#N or NAME#STAGE!#N")
        name, stage = parsed.artifact, parsed.stage
    if name is None or stage is None:
        raise GitmlError("give a stage tag, or an artifact name and a stage", hint="e.g. --tag 'model#prod#3'")
    names.validate_name(name)
    names.validate_stage(stage, settings.stages)
    command = command or settings.deploy
    if not command:
        raise GitmlError("no deploy command is configured", hint="set [tool.gitml.registry].deploy in pyproject.toml or pass --command")
    art = _state(root, name)
    if stage not in art.stages:
        return {"artifact": name, "stage": stage, "deployed": False, "note": f"no version of {name} is in {stage}; nothing to deploy"}
    version = art.stages[stage]
    target = Path(out or Path(root) / ".gitml" / "deploy" / name / stage)
    fetched = fetch(root, name, target / Path(provenance.declared_artifact(root, name, art.versions[version].commit)["path"]).name,
                    version=version, force=True)
    env = {
        **os.environ,
        "GITML_ARTIFACT": name,
        "GITML_VERSION": version,
        "GITML_STAGE": stage,
        "GITML_COMMIT": fetched["commit"],
        "GITML_ARTIFACT_PATH": fetched["out"],
    }
    proc = subprocess.run(command, shell=True, cwd=root, env=env, check=False)  # noqa: S602 - the project's own command
    if proc.returncode != 0:
        raise GitmlError(f"the deploy command failed with exit code {proc.returncode}: {command}", hint="see its output above")
    return {**fetched, "stage": stage, "deployed": True}
