"""`gitml serve` as users run it: a real process on a loopback port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from served_project import copy

from gitml.cli import main

GITML = str(Path(sys.executable).parent / "gitml")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gitml_serve_process_answers_health_and_stops_on_sigterm(served: Any, tmp_path: Path) -> None:
    proj = copy(served, tmp_path)
    port = _free_port()
    proc = subprocess.Popen([GITML, "serve", "model", "--stage", "prod", "-C", str(proj.repo), "--port", str(port),
                             "--log", str(tmp_path / "log.jsonl")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                    health = json.loads(resp.read())
                    break
            except OSError:
                time.sleep(0.2)
        assert health is not None, proc.stdout.read() if proc.poll() is not None else "no answer"  # type: ignore[union-attr]
        assert health["version"] == "v1.0.0" and health["stage"] == "prod"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGTERM), out  # uvicorn re-raises the signal after a clean shutdown
    assert "Application shutdown complete" in out
    assert "serving model v1.0.0 (prod, following the stage tag)" in out


def test_serve_needs_exactly_one_of_stage_or_version(served: Any, capsys: Any) -> None:
    assert main(["serve", "model", "-C", str(served.repo)]) == 1
    assert "give exactly one of --stage or --version" in capsys.readouterr().err
    assert main(["serve", "model", "-C", str(served.repo), "--version", "v9.9.9"]) == 1
    assert "model has no version v9.9.9" in capsys.readouterr().err
    assert os.environ.get("GITHUB_TOKEN") is None
