"""The registry page: self-contained HTML (no CDN, nothing fetched), loaded in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gitml.cli import main
from gitml.registry import api, site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for key, value in attrs:
            if key in ("src", "href", "srcset", "action", "data", "poster", "xlink:href") and value is not None:
                self.refs.append(value)


@pytest.fixture(scope="module")
def built(module_project) -> Path:
    repo = module_project.repo
    c1, c2, _ = module_project.commits()
    api.register(repo, "model", rev=c1, check_remote=False)
    api.register(repo, "model", rev=c2, check_remote=False)
    api.promote(repo, "model", "v0.2.0", "staging")
    out = module_project.base / "site"
    assert main(["registry", "site", "-o", str(out), "-C", str(repo)]) == 0
    return out


def test_page_is_self_contained(built: Path) -> None:
    page = (built / "index.html").read_text()
    parser = _Refs()
    parser.feed(page)
    assert "script" not in parser.tags and "iframe" not in parser.tags  # no JS; CSS and charts are inline
    assert not re.search(r"url\(|@import|https?://", page)
    for ref in parser.refs:
        target = ref.split("#")[0]
        assert not re.match(r"^[a-z][a-z0-9+.-]*:|^//", ref), f"non-relative reference {ref}"
        assert not target or (built / target).is_file(), f"{ref} does not exist"
    assert (built / ".nojekyll").exists()
    data = json.loads((built / "registry.json").read_text())
    assert data["version"] == 1 and data["artifacts"][0]["latest"] == "v0.2.0"


def test_page_shows_versions_stages_lineage_and_trend(built: Path) -> None:
    page = (built / "index.html").read_text()
    for text in ("v0.1.0", "v0.2.0", "staging", "models/model.bin", "accuracy by version", "<svg", "<polyline",
                 "second model", "seed=2"):
        assert text in page, text


class _Recorder(SimpleHTTPRequestHandler):
    """Serves the site and records every request with its status and Referer; as the browser's
    proxy it also sees (and refuses) any plain-HTTP request for another host."""

    log: list[tuple[str, int, str]]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        own = "http://%s:%d" % self.server.server_address[:2]
        if self.path.startswith(own + "/"):  # proxied request for this very server
            self.path = self.path[len(own):]
        elif not self.path.startswith("/"):  # a request for somewhere else
            self.send_error(502)
            return
        super().do_GET()

    def do_CONNECT(self) -> None:  # noqa: N802
        self.send_error(502)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        status = int(code) if str(code).isdigit() else 0
        self.log.append((self.path, status, self.headers.get("Referer", "") if self.headers else ""))

    def log_message(self, *args: object) -> None:
        pass


def load_in_chromium(site_dir: Path, profile: Path) -> tuple[str, list[tuple[str, int, str]]]:
    """Load site_dir/index.html in headless Chromium through a recording server: (DOM, requests)."""
    log: list[tuple[str, int, str]] = []
    handler = type("Handler", (_Recorder,), {"log": log})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(site_dir)))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}",
            f"--proxy-server={base}", "--proxy-bypass-list=<-loopback>",  # requests to any host reach the recorder
            "--dump-dom", f"{base}/index.html"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout, log


def _page_failures(log: list[tuple[str, int, str]]) -> list[tuple[str, int]]:
    """Requests the page made (the document, and anything with it as Referer) that did not answer 200."""
    return [(p, c) for p, c, ref in log if (p.endswith("/index.html") or "/index.html" in ref) and c != 200]


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")


@needs_chromium
def test_page_loads_in_headless_chromium_with_no_failed_request(built: Path, tmp_path: Path) -> None:
    dom, log = load_in_chromium(built, tmp_path / "profile")
    assert "Model registry" in dom and "v0.1.0" in dom and "v0.2.0" in dom and "<svg" in dom
    assert any(p.endswith("/index.html") and c == 200 for p, c, _ in log)
    assert _page_failures(log) == []


@needs_chromium
def test_the_chromium_check_sees_a_failed_request(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text('<html><body><img src="missing.png">v0.1.0</body></html>')
    dom, log = load_in_chromium(tmp_path / "site", tmp_path / "profile")
    assert "v0.1.0" in dom
    assert "/missing.png" in [p for p, _ in _page_failures(log)]


def test_trend_svg_handles_flat_and_single_points() -> None:
    assert "<polyline" not in site.trend_svg("m", [("v1", 1.0)])
    svg = site.trend_svg("m", [("v1", 0.5), ("v2", 0.5)])
    assert svg.startswith("<svg") and "<polyline" in svg
