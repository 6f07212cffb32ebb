"""The actions runner download: URL, pinned / given / published checksum, verification over file:// and HTTP."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from github_stub import GitHubStub

from gitml.errors import GitmlError
from gitml.forge.github import GitHubClient
from gitml.runners import download


def fake_release(path: Path, version: str = "9.9.9") -> Path:
    """A tarball shaped like the actions runner release (run.sh, config.sh, bin/)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, text in {
            "run.sh": "#!/usr/bin/env bash\necho \"run.sh $*\" >> \"${FAKE_RUNNER_LOG:-/dev/null}\"\n",
            "config.sh": "#!/usr/bin/env bash\necho \"config.sh $*\" >> \"${FAKE_RUNNER_LOG:-/dev/null}\"\n",
            "bin/Runner.Listener": f"fake listener {version}\n",
        }.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_release_url_and_pinned_checksum() -> None:
    release = download.Release("2.330.0", "linux-x64")
    assert release.url() == (
        "https://github.com/actions/runner/releases/download/v2.330.0/actions-runner-linux-x64-2.330.0.tar.gz"
    )
    assert download.expected_sha256(release) == download.PINNED_SHA256[("2.330.0", "linux-x64")]
    assert download.DEFAULT_RUNNER_VERSION in {v for v, _ in download.PINNED_SHA256}


def test_checksum_given_wins_and_is_validated() -> None:
    release = download.Release("2.330.0", "linux-x64")
    assert download.expected_sha256(release, "A" * 64) == "a" * 64
    with pytest.raises(GitmlError, match="not 64 hex"):
        download.expected_sha256(release, "abc")


def test_checksum_from_release_notes(github: GitHubStub) -> None:
    body = (
        "- actions-runner-linux-arm64-2.400.0.tar.gz <!-- BEGIN SHA linux-arm64 -->" + "b" * 64 + "<!-- END SHA linux-arm64 -->\n"
        "- actions-runner-linux-x64-2.400.0.tar.gz <!-- BEGIN SHA linux-x64 -->" + "a" * 64 + "<!-- END SHA linux-x64 -->\n"
    )
    github.add("GET", "/repos/actions/runner/releases/tags/v2.400.0", json={"tag_name": "v2.400.0", "body": body})
    client = GitHubClient(None, api_url=github.url)
    assert download.expected_sha256(download.Release("2.400.0", "linux-x64"), client=client) == "a" * 64
    assert download.expected_sha256(download.Release("2.400.0", "linux-arm64"), client=client) == "b" * 64
    with pytest.raises(GitmlError, match="no sha256 for linux-arm"):
        download.expected_sha256(download.Release("2.400.0", "linux-arm"), client=client)
    with pytest.raises(GitmlError, match="no pinned checksum"):
        download.expected_sha256(download.Release("2.400.0", "linux-x64"))


def test_fetch_file_url_verifies(tmp_path: Path) -> None:
    tarball = fake_release(tmp_path / "src" / "runner.tar.gz")
    dest = tmp_path / "dl" / "runner.tar.gz"
    assert download.fetch(tarball.as_uri(), dest, sha(tarball)).read_bytes() == tarball.read_bytes()
    with pytest.raises(download.ChecksumMismatch, match="checksum mismatch"):
        download.fetch(tarball.as_uri(), tmp_path / "dl" / "other.tar.gz", "0" * 64)
    assert not (tmp_path / "dl" / "other.tar.gz").exists()
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["runner.tar.gz"]  # no partial file left


def test_fetch_over_loopback_http(tmp_path: Path) -> None:
    release = download.Release("9.9.9", "linux-x64")
    served = tmp_path / "mirror"
    tarball = fake_release(served / f"v{release.version}" / release.filename)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        got = download.fetch(release.url(base), tmp_path / "dl" / release.filename, sha(tarball))
        assert sha(got) == sha(tarball)
        with pytest.raises(download.ChecksumMismatch):
            download.fetch(release.url(base), tmp_path / "dl2" / release.filename, "f" * 64)
        with pytest.raises(GitmlError, match="cannot download"):
            download.fetch(f"{base}/missing.tar.gz", tmp_path / "dl3" / "x", "f" * 64)
    finally:
        server.shutdown()
        server.server_close()


def test_verify_and_extract(tmp_path: Path) -> None:
    tarball = fake_release(tmp_path / "r.tar.gz")
    with pytest.raises(download.ChecksumMismatch):
        download.verify(tarball, "0" * 64)
    out = download.extract(download.verify(tarball, sha(tarball)), tmp_path / "release")
    assert (out / "run.sh").exists() and (out / "bin" / "Runner.Listener").exists()
    not_runner = tmp_path / "n.tar.gz"
    with tarfile.open(not_runner, "w:gz") as tar:
        info = tarfile.TarInfo("README")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(GitmlError, match="not an actions runner release"):
        download.extract(not_runner, tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_version_and_platform_checks() -> None:
    assert download.check_version("v2.330.0") == "2.330.0"
    with pytest.raises(GitmlError):
        download.check_version("latest-ish")
    assert download.platform_for("arm64") == "linux-arm64"
    with pytest.raises(GitmlError):
        download.platform_for("riscv")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass
