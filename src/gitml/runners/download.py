"""The official GitHub Actions runner release: its URL, its checksum, a verified download, extraction.

A checksum comes, in this order, from the caller (`--sha256`), from the table
pinned below, or from the release notes GitHub publishes with every runner
release (`<!-- BEGIN SHA linux-x64 -->...<!-- END SHA linux-x64 -->`). A tarball
whose sha256 differs is deleted and never extracted.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from gitml.errors import GitmlError
from gitml.forge.github import GitHubClient

DEFAULT_RUNNER_VERSION = "2.330.0"
DOWNLOAD_BASE = "https://github.com/actions/runner/releases/download"
RELEASES_PATH = "repos/actions/runner/releases"

# sha256 of actions-runner-{platform}-{version}.tar.gz, as published in the release notes.
PINNED_SHA256: dict[tuple[str, str], str] = {
    ("2.328.0", "linux-x64"): "01066fad3a2893e63e6ca880ae3a1fad5bf9329d60e77ee15f2b97c148c3cd4e",
    ("2.329.0", "linux-x64"): "194f1e1e4bd02f80b7e9633fc546084d8d4e19f3928a324d512ea53430102e1d",
    ("2.330.0", "linux-x64"): "af5c33fa94f3cc33b8e97937939136a6b04197e6dadfcfb3b6e33ae1bf41e79a",
}
_SHA = re.compile(r"^[0-9a-f]{64}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


class ChecksumMismatch(GitmlError):
    """The downloaded file is not the published one."""


@dataclass(frozen=True)
class Release:
    version: str
    platform: str  # "linux-x64", "linux-arm64"

    @property
    def filename(self) -> str:
        return f"actions-runner-{self.platform}-{self.version}.tar.gz"

    def url(self, base: str = DOWNLOAD_BASE) -> str:
        return f"{base.rstrip('/')}/v{self.version}/{self.filename}"


def platform_for(arch: str) -> str:
    """Runner platform for a label arch ("x64" -> "linux-x64")."""
    if arch not in ("x64", "arm64", "arm"):
        raise GitmlError(f"the actions runner has no Linux build for {arch!r}", hint="supported: x64, arm64, arm")
    return f"linux-{arch}"


def check_version(version: str) -> str:
    version = version.lstrip("v")
    if not _VERSION.match(version):
        raise GitmlError(f"runner version {version!r} is not MAJOR.MINOR.PATCH", hint=f"for example {DEFAULT_RUNNER_VERSION}")
    return version


def latest_version(client: GitHubClient) -> str:
    data = client.get(f"{RELEASES_PATH}/latest")
    return check_version(str((data or {}).get("tag_name", "")))


def sha_from_release_notes(body: str, platform: str) -> str | None:
    match = re.search(rf"<!-- BEGIN SHA {re.escape(platform)} -->\s*([0-9a-f]{{64}})\s*<!-- END SHA {re.escape(platform)} -->", body)
    return match.group(1) if match else None


def expected_sha256(release: Release, given: str | None = None, client: GitHubClient | None = None) -> str:
    """The checksum to verify against: given, pinned, or read from the release notes via the API."""
    if given:
        given = given.strip().lower()
        if not _SHA.match(given):
            raise GitmlError(f"--sha256 {given!r} is not 64 hex digits", hint="copy the sha256 from the release page")
        return given
    pinned = PINNED_SHA256.get((release.version, release.platform))
    if pinned:
        return pinned
    if client is None:
        raise GitmlError(
            f"no pinned checksum for {release.filename}",
            hint=f"pass --sha256 from https://github.com/actions/runner/releases/tag/v{release.version}",
        )
    data = client.get(f"{RELEASES_PATH}/tags/v{release.version}")
    found = sha_from_release_notes(str((data or {}).get("body", "")), release.platform)
    if not found:
        raise GitmlError(
            f"the v{release.version} release notes carry no sha256 for {release.platform}",
            hint="pass --sha256 explicitly; refusing to install an unverified runner",
        )
    return found


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url: str, dest: str | os.PathLike[str], sha256: str, *, timeout: float = 120.0) -> Path:
    """Download url to dest, verifying sha256; reuse dest when it already matches."""
    target = Path(dest)
    if target.exists() and sha256_file(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (https, file:// in tests)
                    for chunk in iter(lambda: resp.read(1 << 20), b""):
                        digest.update(chunk)
                        out.write(chunk)
            except (urllib.error.URLError, OSError) as exc:
                raise GitmlError(
                    f"cannot download {url}: {getattr(exc, 'reason', exc)}",
                    hint="check the network, or download it yourself and pass --tarball PATH",
                ) from exc
        got = digest.hexdigest()
        if got != sha256:
            raise ChecksumMismatch(
                f"checksum mismatch for {url}: got sha256 {got}, expected {sha256}",
                hint="the download is corrupt or not the official release; it was deleted, nothing was installed",
            )
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def verify(path: str | os.PathLike[str], sha256: str) -> Path:
    """Check a tarball the user downloaded (--tarball)."""
    got = sha256_file(path)
    if got != sha256:
        raise ChecksumMismatch(
            f"checksum mismatch for {path}: got sha256 {got}, expected {sha256}",
            hint="download the official release again; nothing was installed",
        )
    return Path(path)


def extract(tarball: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Extract into dest (atomically: a temp dir renamed into place), refusing unsafe members."""
    target = Path(dest)
    if (target / "run.sh").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            tar.extractall(tmp, filter="data")
        if not (tmp / "run.sh").exists():
            raise GitmlError(f"{tarball} is not an actions runner release (no run.sh)", hint="check --tarball")
        if target.exists():
            target.rmdir()
        os.replace(tmp, target)
    except (tarfile.TarError, OSError) as exc:
        raise GitmlError(f"cannot extract {tarball}: {exc}", hint="download the release again") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
