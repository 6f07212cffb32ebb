"""A small GitHub REST client on urllib: auth, JSON, pagination, retries and clear errors.

The token comes from the environment (GITHUB_TOKEN or GH_TOKEN, or whatever the
caller passes) and never appears in a message, a repr or a log line. The API base
honours GITHUB_API_URL (GitHub Enterprise Server: https://HOST/api/v3).
"""

from __future__ import annotations

import email.utils
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gitml import __version__
from gitml.errors import GitmlError

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")

_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class GitHubError(GitmlError):
    """GitHub answered with an error (or could not be reached)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        github_message: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.github_message = github_message


class GitHubRateLimited(GitHubError):
    """The rate limit is spent; `retry_after` says how many seconds to wait."""

    def __init__(self, message: str, *, status: int, retry_after: float, hint: str | None = None) -> None:
        super().__init__(message, status=status, hint=hint)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    data: Any

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


def token_from_env(variables: tuple[str, ...] = TOKEN_VARIABLES, env: Mapping[str, str] | None = None) -> str | None:
    """The first non-empty token among `variables` in env (default os.environ)."""
    source = os.environ if env is None else env
    for name in variables:
        value = source.get(name, "").strip()
        if value:
            return value
    return None


class GitHubClient:
    """GitHub REST API client.

    `sleep` and `now` are injectable so tests do not wait for real rate-limit windows.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        api_url: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 2,
        max_retry_wait: float = 60.0,
        token_hint: str = "set GITHUB_TOKEN to a token that can access this repository",
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._token = token
        self.api_url = (api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.token_hint = token_hint
        self._sleep = sleep
        self._now = now

    @classmethod
    def from_env(cls, variables: tuple[str, ...] = TOKEN_VARIABLES, **kwargs: Any) -> GitHubClient:
        return cls(token_from_env(variables), **kwargs)

    def __repr__(self) -> str:
        return f"GitHubClient(api_url={self.api_url!r}, token={'set' if self._token else 'unset'})"

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    # -- requests -------------------------------------------------------------

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        if path.startswith(("http://", "https://")):
            full = path
        else:
            full = f"{self.api_url}/{path.lstrip('/')}"
        if params:
            query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
            full += ("&" if "?" in full else "?") + query
        return full

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        expected: tuple[int, ...] = (),
    ) -> Response:
        """Send one request; retry on rate limits and 5xx; raise GitHubError on any error answer."""
        url = self.url(path, params)
        body = None if json_body is None else json.dumps(json_body).encode("utf-8")
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": f"gitml/{__version__}",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        attempt = 0
        while True:
            attempt += 1
            req = urllib.request.Request(url, data=body, method=method.upper(), headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (https/loopback only)
                    response = Response(resp.status, dict(resp.headers.items()), _decode(resp.read()))
            except urllib.error.HTTPError as exc:
                response = Response(exc.code, dict(exc.headers.items()) if exc.headers else {}, _decode(exc.read()))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                raise GitHubError(
                    f"cannot reach the GitHub API at {self.api_url}: {reason}",
                    hint="check the network, or GITHUB_API_URL for GitHub Enterprise Server (https://HOST/api/v3)",
                ) from exc
            if response.status < 400 and (not expected or response.status in expected):
                return response
            error = self._error(method.upper(), path, response)
            wait = error.retry_after if isinstance(error, GitHubRateLimited) else (2.0**attempt if response.status >= 500 else None)
            if wait is not None and attempt <= self.max_retries and wait <= self.max_retry_wait:
                self._sleep(max(wait, 0.0))
                continue
            raise error

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).data

    def post(self, path: str, json_body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json_body={} if json_body is None else json_body, **kwargs).data

    def patch(self, path: str, json_body: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, json_body={} if json_body is None else json_body, **kwargs).data

    def put(self, path: str, json_body: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, json_body={} if json_body is None else json_body, **kwargs).data

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs).data

    def paginate(
        self, path: str, *, params: Mapping[str, Any] | None = None, item_key: str | None = None, per_page: int = 100
    ) -> Iterator[Any]:
        """Yield every item of a list endpoint, following `Link: rel="next"`.

        `item_key` names the array for endpoints that wrap it in an object
        (e.g. "runners" for /actions/runners, "workflow_runs" for /actions/runs).
        """
        next_url: str | None = self.url(path, {"per_page": per_page, **(params or {})})
        while next_url:
            response = self.request("GET", next_url)
            page = response.data
            items = page.get(item_key, []) if item_key and isinstance(page, dict) else page
            if not isinstance(items, list):
                raise GitHubError(
                    f"GitHub answered GET {path} with {type(items).__name__}, not a list",
                    hint="pass item_key naming the array in the answer",
                )
            yield from items
            match = _LINK_NEXT.search(response.header("Link") or "")
            next_url = match.group(1) if match else None

    # -- errors ---------------------------------------------------------------

    def _error(self, method: str, path: str, response: Response) -> GitHubError:
        status = response.status
        data = response.data if isinstance(response.data, dict) else {}
        gh_message = str(data.get("message", "")).strip() or (response.data if isinstance(response.data, str) else "")
        gh_message = str(gh_message)[:300]
        where = f"{method} {urllib.parse.urlsplit(path).path if '://' in path else path.split('?')[0]}"
        said = f": {gh_message}" if gh_message else ""
        retry_after = self._retry_after(response)
        if status == 429 or (status == 403 and retry_after is not None):
            wait = retry_after if retry_after is not None else 60.0
            at = time.strftime("%H:%M:%S UTC", time.gmtime(self._now() + wait))
            return GitHubRateLimited(
                f"GitHub rate limit reached on {where}{said}; it resets in {int(wait)} s (at {at})",
                status=status,
                retry_after=wait,
                hint="wait and run again, or use a token with a higher limit (a GitHub App installation token)",
            )
        if status == 401:
            return GitHubError(
                f"GitHub rejected the token on {where} (401{said})",
                status=status,
                github_message=gh_message,
                hint=self.token_hint if self._token else f"no token was given: {self.token_hint}",
            )
        if status == 403:
            return GitHubError(
                f"GitHub refused {where} (403{said})",
                status=status,
                github_message=gh_message,
                hint="the token lacks a permission this call needs; see the endpoint's docs for the scope",
            )
        if status == 404:
            return GitHubError(
                f"GitHub has no {where} (404{said})",
                status=status,
                github_message=gh_message,
                hint="check the owner/repository name; GitHub also answers 404 when the token cannot see a private resource",
            )
        if status == 409:
            return GitHubError(f"GitHub reports a conflict on {where} (409{said})", status=status, github_message=gh_message)
        if status == 422:
            details = "; ".join(_describe(e) for e in data.get("errors", []) if e)
            return GitHubError(
                f"GitHub could not process {where} (422{said}{' - ' + details if details else ''})",
                status=status,
                github_message=gh_message,
                hint="check the values sent: names, labels and ids must be valid and not already in use",
            )
        if status >= 500:
            return GitHubError(
                f"GitHub failed on {where} ({status}{said})",
                status=status,
                github_message=gh_message,
                hint="a GitHub-side error: try again in a minute (https://www.githubstatus.com)",
            )
        return GitHubError(f"GitHub answered {where} with {status}{said}", status=status, github_message=gh_message)

    def _retry_after(self, response: Response) -> float | None:
        """Seconds to wait from Retry-After, or from x-ratelimit-reset when the limit is spent."""
        value = response.header("Retry-After")
        if value:
            try:
                return max(float(value), 0.0)
            except ValueError:
                parsed = email.utils.parsedate_to_datetime(value)
                if parsed is not None:
                    return max(parsed.timestamp() - self._now(), 0.0)
        if response.header("x-ratelimit-remaining") == "0":
            reset = response.header("x-ratelimit-reset")
            if reset and reset.isdigit():
                return max(float(reset) - self._now(), 0.0)
            return 60.0
        return None


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _describe(error: Any) -> str:
    if isinstance(error, dict):
        if error.get("message"):
            return str(error["message"])
        return " ".join(f"{k}={v}" for k, v in error.items() if k in ("resource", "field", "code"))
    return str(error)
