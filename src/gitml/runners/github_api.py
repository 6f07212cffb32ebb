"""The REST calls that register, list and remove self-hosted runners (repository or organization)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitml.errors import GitmlError
from gitml.forge.github import GitHubClient, GitHubError, token_from_env

# GITML_RUNNER_TOKEN first, so the admin token for runners can differ from a CI GITHUB_TOKEN.
TOKEN_VARIABLES = ("GITML_RUNNER_TOKEN", "GITHUB_TOKEN", "GH_TOKEN")
TOKEN_HINT = (
    "set GITML_RUNNER_TOKEN (or GITHUB_TOKEN) to a token with the repository's Administration: write permission "
    "(organization runners: the organization's Self-hosted runners: write)"
)
_OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_REPO = re.compile(rf"^{_OWNER}/[A-Za-z0-9._-]{{1,100}}$")
_ORG = re.compile(rf"^{_OWNER}$")


@dataclass(frozen=True)
class Scope:
    """Where runners register: a repository ("repos/OWNER/REPO") or an organization ("orgs/ORG")."""

    kind: str  # "repo" or "org"
    name: str

    @classmethod
    def parse(cls, repo: str | None = None, org: str | None = None) -> Scope:
        if bool(repo) == bool(org):
            raise GitmlError("give exactly one of --repo OWNER/REPO or --org ORG", hint="runners register to one place")
        if repo:
            if not _REPO.match(repo):
                raise GitmlError(f"--repo {repo!r} is not OWNER/REPO", hint="for example --repo acme/vision-models")
            return cls("repo", repo)
        if not org or not _ORG.match(org):
            raise GitmlError(f"--org {org!r} is not a GitHub organization name", hint="for example --org acme")
        return cls("org", org)

    @classmethod
    def from_path(cls, path: str) -> Scope:
        """Inverse of `api_path` ("repos/o/r" or "orgs/o")."""
        kind, _, name = path.partition("/")
        if kind == "repos":
            return cls.parse(repo=name)
        if kind == "orgs":
            return cls.parse(org=name)
        raise GitmlError(f"runner scope {path!r} is neither repos/OWNER/REPO nor orgs/ORG", hint="re-run gitml runner install")

    @property
    def api_path(self) -> str:
        return f"{'repos' if self.kind == 'repo' else 'orgs'}/{self.name}"

    def html_url(self, server_url: str = "https://github.com") -> str:
        return f"{server_url.rstrip('/')}/{self.name}"


def client_from_env(token: str | None = None, **kwargs: Any) -> GitHubClient:
    """A client with the runner admin token (given, or GITML_RUNNER_TOKEN / GITHUB_TOKEN / GH_TOKEN)."""
    token = token or token_from_env(TOKEN_VARIABLES)
    if not token:
        raise GitmlError("no GitHub token in the environment", hint=TOKEN_HINT)
    return GitHubClient(token, token_hint=TOKEN_HINT, **kwargs)


@dataclass(frozen=True)
class JitConfig:
    runner_id: int
    name: str
    encoded: str

    def __repr__(self) -> str:  # the encoded config holds the runner's credentials
        return f"JitConfig(runner_id={self.runner_id}, name={self.name!r}, encoded=<hidden>)"


class RunnersAPI:
    def __init__(self, client: GitHubClient, scope: Scope) -> None:
        self.client = client
        self.scope = scope

    def _path(self, tail: str) -> str:
        return f"{self.scope.api_path}/actions/runners{tail}"

    def generate_jitconfig(
        self, name: str, labels: Sequence[str], *, runner_group_id: int = 1, work_folder: str = "_work", replace: bool = True
    ) -> JitConfig:
        """Register an ephemeral just-in-time runner; with `replace`, delete a stale runner of that name first."""
        body = {"name": name, "runner_group_id": runner_group_id, "labels": list(labels), "work_folder": work_folder}
        try:
            data = self.client.post(self._path("/generate-jitconfig"), body, expected=(201, 200))
        except GitHubError as exc:
            stale = self.find(name) if exc.status in (409, 422) and replace else None
            if stale is None:
                raise
            # A runner that never ran its job (service stopped, machine rebooted) keeps its name taken.
            self.delete(int(stale["id"]))
            data = self.client.post(self._path("/generate-jitconfig"), body, expected=(201, 200))
        try:
            return JitConfig(int(data["runner"]["id"]), str(data["runner"]["name"]), str(data["encoded_jit_config"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise GitHubError("GitHub's generate-jitconfig answer has no runner id or encoded_jit_config") from exc

    def registration_token(self) -> str:
        """A one-hour token for `config.sh --token` (classic registration)."""
        return self._token("/registration-token")

    def remove_token(self) -> str:
        """A one-hour token for `config.sh remove --token`."""
        return self._token("/remove-token")

    def _token(self, tail: str) -> str:
        data = self.client.post(self._path(tail), expected=(201, 200))
        if not isinstance(data, dict) or not data.get("token"):
            raise GitHubError(f"GitHub's {tail.strip('/')} answer has no token")
        return str(data["token"])

    def list(self, name: str | None = None) -> list[dict[str, Any]]:
        """Every runner of the scope (all pages), or those with exactly `name`."""
        params = {"name": name} if name else None
        runners = list(self.client.paginate(self._path(""), params=params, item_key="runners"))
        return [r for r in runners if name is None or r.get("name") == name]

    def find(self, name: str) -> dict[str, Any] | None:
        matches = self.list(name)
        return matches[0] if matches else None

    def delete(self, runner_id: int) -> None:
        self.client.delete(self._path(f"/{runner_id}"), expected=(204, 200))


def summarize(runner: dict[str, Any]) -> dict[str, Any]:
    """The fields of a runner that `gitml runner status` shows."""
    return {
        "id": runner.get("id"),
        "name": runner.get("name"),
        "status": runner.get("status"),
        "busy": runner.get("busy"),
        "labels": [lab.get("name") for lab in runner.get("labels", []) if isinstance(lab, dict)],
        "ephemeral": runner.get("ephemeral"),
    }
