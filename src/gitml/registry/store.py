"""The registry's state, read from every registry tag with ONE `git for-each-ref` call.

Semantics follow GTO (so both tools agree on what a repository says):
- a version is active when its latest event is a registration (not `NAME@vX!`);
- a stage tag names a commit; it applies to the version registered at that commit
  (or to the bare commit when none is);
- for each stage, the version whose latest still-active assignment is newest holds it.
Only annotated tags count, as in GTO.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from gitml.proc import run
from gitml.registry import tags as T

_SEP = "\x00"
_END = "\x00\x01\x00\n"
_FIELDS = ("%(refname:strip=2)", "%(objecttype)", "%(*objectname)", "%(taggerdate:unix)")
_MESSAGE_FIELDS = ("%(taggername)", "%(taggeremail:trim)", "%(contents)")


@dataclass
class Event:
    """One registry tag."""

    tag: str
    action: str
    artifact: str
    commit: str
    timestamp: int
    version: str | None = None
    stage: str | None = None
    counter: int | None = None
    author: str = ""
    author_email: str = ""
    message: str | None = None

    def sort_key(self) -> tuple:
        return (self.timestamp, self.counter or 0, self.tag)

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "message"}
        if self.message is not None:
            d["message"] = self.message
        return d


@dataclass
class VersionState:
    artifact: str
    version: str
    commit: str
    registered: bool = True
    active: bool = True
    registration: Event | None = None
    deregistration: Event | None = None
    stages: list[str] = field(default_factory=list)

    @property
    def created_at(self) -> int:
        return self.registration.timestamp if self.registration else 0


@dataclass
class ArtifactState:
    name: str
    versions: dict[str, VersionState] = field(default_factory=dict)
    stages: dict[str, str] = field(default_factory=dict)  # stage -> version holding it
    events: list[Event] = field(default_factory=list)
    deprecated: Event | None = None
    max_counter: int = 0

    def sorted_versions(self, *, active_only: bool = True, registered_only: bool = True) -> list[VersionState]:
        """Versions, greatest first (semantic-version precedence)."""
        vs = [
            v
            for v in self.versions.values()
            if (v.active or not active_only) and (v.registered or not registered_only)
        ]
        return sorted(vs, key=lambda v: T.version_key(v.version), reverse=True)

    def latest(self) -> VersionState | None:
        vs = self.sorted_versions()
        return vs[0] if vs else None

    def find(self, version: str) -> VersionState | None:
        return self.versions.get(version if version.startswith("v") else f"v{version}")


def read_events(root: str | os.PathLike[str], *, messages: bool = False, artifact: str | None = None) -> list[Event]:
    """Every annotated registry tag (optionally of one artifact), from one `git for-each-ref`."""
    fmt = _SEP.join(_FIELDS + (_MESSAGE_FIELDS if messages else ()))
    fmt = fmt.replace(_SEP, "%00") + "%00%01%00"
    patterns = [f"refs/tags/{artifact}@*", f"refs/tags/{artifact}#*"] if artifact else ["refs/tags"]
    out = run(["git", "for-each-ref", f"--format={fmt}", *patterns], cwd=root).stdout
    events: list[Event] = []
    parse = T.parse
    for record in out.split(_END):
        if not record:
            continue
        parts = record.split(_SEP)
        if parts[1] != "tag":  # lightweight tags are not registry events (as in GTO)
            continue
        name = parse(parts[0])
        if name is None:
            continue
        ev = Event(
            tag=parts[0],
            action=name.action,
            artifact=name.artifact,
            commit=parts[2],
            timestamp=int(parts[3] or 0),
            version=name.version,
            stage=name.stage,
            counter=name.counter,
        )
        if messages:
            ev.author, ev.author_email, ev.message = parts[4], parts[5], parts[6]
        events.append(ev)
    return events


def build(events: list[Event]) -> dict[str, ArtifactState]:
    """Fold events into the state of each artifact."""
    arts: dict[str, ArtifactState] = {}
    events = sorted(events, key=Event.sort_key)
    for ev in events:
        art = arts.get(ev.artifact)
        if art is None:
            art = arts[ev.artifact] = ArtifactState(ev.artifact)
        art.events.append(ev)
        if ev.counter:
            art.max_counter = max(art.max_counter, ev.counter)
    for art in arts.values():
        by_commit: dict[str, VersionState] = {}
        for ev in art.events:
            if ev.action == T.REGISTER:
                v = art.versions.get(ev.version)  # type: ignore[arg-type]
                if v is None:
                    v = art.versions[ev.version] = VersionState(art.name, ev.version, ev.commit)  # type: ignore[arg-type]
                v.registration, v.active, v.commit = ev, True, ev.commit
            elif ev.action == T.DEREGISTER:
                v = art.versions.get(ev.version)  # type: ignore[arg-type]
                if v is None:
                    v = art.versions[ev.version] = VersionState(art.name, ev.version, ev.commit, registered=False)  # type: ignore[arg-type]
                v.deregistration, v.active = ev, False
            elif ev.action == T.DEPRECATE:
                art.deprecated = ev
        for v in sorted(art.versions.values(), key=lambda v: T.version_key(v.version)):
            if v.registered:
                by_commit[v.commit] = v  # the greatest version at a commit wins
        # stage -> version -> (last event, last assignment)
        last: dict[str, dict[str, tuple[Event, Event | None]]] = {}
        for ev in art.events:
            if ev.action not in (T.ASSIGN, T.UNASSIGN):
                continue
            v = by_commit.get(ev.commit)
            if v is None:  # a stage on an unregistered commit: GTO calls the version by its hexsha
                v = art.versions.get(ev.commit)
                if v is None:
                    v = art.versions[ev.commit] = VersionState(art.name, ev.commit, ev.commit, registered=False)
            per = last.setdefault(ev.stage, {})  # type: ignore[arg-type]
            prev = per.get(v.version)
            per[v.version] = (ev, ev if ev.action == T.ASSIGN else (prev[1] if prev else None))
        for stage, per in last.items():
            holders = [(a.sort_key(), ver) for ver, (e, a) in per.items() if e.action == T.ASSIGN and a is not None]
            if holders:
                ver = max(holders)[1]
                art.stages[stage] = ver
                art.versions[ver].stages.append(stage)
    return arts


def load(root: str | os.PathLike[str], *, messages: bool = False, artifact: str | None = None) -> dict[str, ArtifactState]:
    """The registry state of the repository at root."""
    return build(read_events(root, messages=messages, artifact=artifact))
