"""A local HTTP server standing in for GitHub's REST API in tests.

    with GitHubStub() as gh:
        gh.add("POST", "/repos/o/r/actions/runners/registration-token", status=201, json={"token": "t"})
        client = GitHubClient("secret", api_url=gh.url)
        ...
        assert gh.calls[0].json == {...}

Responses are matched on method and path (the query string is recorded but not
matched unless the route's path contains "?"). Each route answers its responses
in order and repeats the last one. Unrouted requests get GitHub's 404 answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Answer:
    status: int = 200
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


Handler = Callable[[Call], Answer]


class GitHubStub:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._routes: dict[tuple[str, str], list[Answer | Handler]] = {}
        self._lock = threading.Lock()
        stub = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                call = Call(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                answer = stub._answer(call, parts.query)
                payload = answer.body if answer.body is not None else (
                    b"" if answer.json is None else json.dumps(answer.json).encode()
                )
                self.send_response(answer.status)
                if payload:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                for key, value in answer.headers.items():
                    self.send_header(key, value.replace("{url}", stub.url))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> GitHubStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> GitHubStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        json: Any = None,  # noqa: A002 - mirrors the HTTP body it stands for
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        handler: Handler | None = None,
    ) -> GitHubStub:
        """Queue an answer (or a handler computing one) for METHOD PATH."""
        entry: Answer | Handler = handler or Answer(status, json, dict(headers or {}), body)
        with self._lock:
            self._routes.setdefault((method.upper(), path), []).append(entry)
        return self

    def error(self, method: str, path: str, status: int, message: str, headers: dict[str, str] | None = None) -> GitHubStub:
        """Queue a GitHub-style error answer."""
        return self.add(
            method, path, status=status, headers=headers,
            json={"message": message, "documentation_url": "https://docs.github.com/rest"},
        )

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method.upper() and c.path == path]

    def _answer(self, call: Call, query: str) -> Answer:
        with self._lock:
            self.calls.append(call)
            queue = self._routes.get((call.method, f"{call.path}?{query}")) or self._routes.get((call.method, call.path))
            if not queue:
                return Answer(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
            entry = queue.pop(0) if len(queue) > 1 else queue[0]
        return entry(call) if callable(entry) else entry
