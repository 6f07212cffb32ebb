"""Validation of artifact names, versions and stages, and version bumps.

Everything a user types that ends up in a tag name passes through here first, so a
name can never carry spaces, `;`, `..`, a leading `-` or ref syntax into git.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gitml.errors import GitmlError

# GTO's artifact/stage name rule (letters, digits, '-', '_', '/'; starts and ends with a
# letter or digit), made stricter: no empty path segment ('//').
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_/-]*[A-Za-z0-9])?$")
_STAGE_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?$")
_VERSION_RE = re.compile(r"^v?(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$")
MAX_NAME = 100
BUMPS = ("major", "minor", "patch")


def validate_name(name: str) -> str:
    """Return name if it is a valid artifact name, else raise a GitmlError saying why."""
    if not isinstance(name, str) or not name:
        raise GitmlError("artifact name is empty", hint="use letters, digits, '-', '_' (e.g. model)")
    if len(name) > MAX_NAME or not _NAME_RE.match(name) or "//" in name:
        raise GitmlError(
            f"invalid artifact name {name!r}",
            hint="use letters, digits, '-', '_' and '/', starting and ending with a letter or digit (e.g. model)",
        )
    return name


def validate_stage(stage: str, allowed: tuple[str, ...] | None = None) -> str:
    """Return stage if valid (and, when `allowed` is given, one of the configured stages)."""
    if not isinstance(stage, str) or not stage or len(stage) > MAX_NAME or not _STAGE_RE.match(stage):
        raise GitmlError(
            f"invalid stage {stage!r}",
            hint="use letters, digits, '-' and '_', starting and ending with a letter or digit (e.g. prod)",
        )
    if allowed is not None and stage not in allowed:
        raise GitmlError(
            f"unknown stage {stage!r}",
            hint=f"configured stages: {', '.join(allowed)} (set [tool.gitml.registry].stages in pyproject.toml)",
        )
    return stage


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"

    def bump(self, part: str) -> Version:
        if part == "major":
            return Version(self.major + 1, 0, 0)
        if part == "minor":
            return Version(self.major, self.minor + 1, 0)
        if part == "patch":
            return Version(self.major, self.minor, self.patch + 1)
        raise GitmlError(f"invalid bump {part!r}", hint=f"use one of: {', '.join(BUMPS)}")


def parse_version(text: str) -> Version:
    """Parse 'v1.2.3' or '1.2.3' (no pre-release or build part) into a Version."""
    m = _VERSION_RE.match(text) if isinstance(text, str) else None
    if not m:
        raise GitmlError(f"invalid version {text!r}", hint="use semantic versioning, e.g. v1.4.0")
    return Version(int(m[1]), int(m[2]), int(m[3]))


def validate_bump(part: str) -> str:
    if part not in BUMPS:
        raise GitmlError(f"invalid bump {part!r}", hint=f"use one of: {', '.join(BUMPS)}")
    return part


def next_version(latest: Version | None, bump: str) -> Version:
    """The version after `latest` by the bump rule; the first version is v0.1.0, v0.0.1 or v1.0.0."""
    validate_bump(bump)
    return (latest or Version(0, 0, 0)).bump(bump)
