"""Tag names of the registry, in GTO's format, and their parsing.

| event                 | tag                  |
|-----------------------|----------------------|
| register a version    | NAME@vX.Y.Z          |
| deregister a version  | NAME@vX.Y.Z!         |
| assign a stage        | NAME#STAGE#N         |
| unassign a stage      | NAME#STAGE!#N        |
| deprecate an artifact | NAME@deprecated      |

N counts the assignment tags of the artifact (all stages), as GTO does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitml.registry.names import Version, validate_name, validate_stage

REGISTER, DEREGISTER, ASSIGN, UNASSIGN, DEPRECATE = "register", "deregister", "assign", "unassign", "deprecate"

# GTO's grammar (gto/constants.py tag_re): artifact names may carry a `dir=` prefix
# (artifacts declared in a dvc.yaml in a subdirectory); versions may have a pre-release.
_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9/_-]*[a-zA-Z0-9])?"
_SEMVER = (
    r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?P<pre>-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?"
)
TAG_RE = re.compile(
    rf"^(?P<artifact>(?:[a-zA-Z0-9_./-]+=)?{_NAME})"
    rf"(?:(?:#(?P<stage>{_NAME})|@(?P<version>v{_SEMVER}))(?P<cancel>!?)|@(?P<deprecated>deprecated|created))"
    r"(?:#(?P<counter>[0-9]+))?$"
)


@dataclass(frozen=True)
class TagName:
    """What a tag name says: the action, the artifact, and the version or stage."""

    action: str
    artifact: str
    version: str | None = None
    stage: str | None = None
    counter: int | None = None


def parse(tag: str) -> TagName | None:
    """Parse a registry tag name; None for a tag that is not a registry tag."""
    m = TAG_RE.match(tag)
    if m is None:
        return None
    artifact = m["artifact"].replace("=", ":")
    counter = int(m["counter"]) if m["counter"] else None
    if m["deprecated"]:
        return TagName(DEPRECATE, artifact, counter=counter) if m["deprecated"] == "deprecated" else None
    cancel = m["cancel"] == "!"
    if m["version"]:
        return TagName(DEREGISTER if cancel else REGISTER, artifact, version=m["version"], counter=counter)
    return TagName(UNASSIGN if cancel else ASSIGN, artifact, stage=m["stage"], counter=counter)


def version_key(version: str) -> tuple:
    """Sort key for a version string by semantic-version precedence (pre-releases first)."""
    m = re.match(rf"^v{_SEMVER}$", version)
    if m is None:  # an unregistered commit, as GTO names it: below every version
        return (-1, -1, -1, 0, version)
    pre = m["pre"]
    return (int(m["major"]), int(m["minor"]), int(m["patch"]), 0 if pre else 1, pre or "")


def register_tag(name: str, version: Version) -> str:
    return f"{validate_name(name)}@{version}"


def deregister_tag(name: str, version: Version) -> str:
    return f"{register_tag(name, version)}!"


def assign_tag(name: str, stage: str, counter: int) -> str:
    return f"{validate_name(name)}#{validate_stage(stage)}#{int(counter)}"


def unassign_tag(name: str, stage: str, counter: int) -> str:
    return f"{validate_name(name)}#{validate_stage(stage)}!#{int(counter)}"


def deprecate_tag(name: str) -> str:
    return f"{validate_name(name)}@deprecated"
