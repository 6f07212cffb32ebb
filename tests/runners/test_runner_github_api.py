"""The REST calls (JIT config, registration token, runner list, removal) against a local stand-in for GitHub."""

from __future__ import annotations

import pytest
from github_stub import GitHubStub

from gitml.errors import GitmlError
from gitml.forge.github import GitHubClient, GitHubError, GitHubRateLimited
from gitml.runners.github_api import RunnersAPI, Scope, client_from_env

RUNNERS = "/repos/acme/vision/actions/runners"
SECRET = "ghp_supersecret0123456789"


def api(stub: GitHubStub, **kwargs) -> RunnersAPI:  # type: ignore[no-untyped-def]
    return RunnersAPI(GitHubClient(SECRET, api_url=stub.url, sleep=lambda s: None, **kwargs), Scope.parse(repo="acme/vision"))


def runner(i: int, name: str, status: str = "online") -> dict:  # type: ignore[type-arg]
    return {"id": i, "name": name, "status": status, "busy": False, "ephemeral": True, "labels": [{"name": "gpu"}]}


def test_generate_jitconfig_sends_name_labels_group(github: GitHubStub) -> None:
    github.add("POST", f"{RUNNERS}/generate-jitconfig", status=201,
               json={"runner": {"id": 42, "name": "box-gpu0"}, "encoded_jit_config": "ZW5jb2RlZA=="})
    jit = api(github).generate_jitconfig("box-gpu0", ["self-hosted", "gpu"], runner_group_id=3)
    assert (jit.runner_id, jit.name, jit.encoded) == (42, "box-gpu0", "ZW5jb2RlZA==")
    assert "ZW5jb2RlZA" not in repr(jit)
    (call,) = github.calls
    assert call.json == {"name": "box-gpu0", "runner_group_id": 3, "labels": ["self-hosted", "gpu"], "work_folder": "_work"}
    assert call.headers["authorization"] == f"Bearer {SECRET}"
    assert call.headers["x-github-api-version"] == "2022-11-28"


def test_jitconfig_replaces_a_stale_runner_of_the_same_name(github: GitHubStub) -> None:
    github.error("POST", f"{RUNNERS}/generate-jitconfig", 409, "Already exists - A runner with the name box-gpu0 already exists.")
    github.add("POST", f"{RUNNERS}/generate-jitconfig", status=201, json={"runner": {"id": 7, "name": "box-gpu0"}, "encoded_jit_config": "x"})
    github.add("GET", RUNNERS, json={"total_count": 1, "runners": [runner(5, "box-gpu0", "offline")]})
    github.add("DELETE", f"{RUNNERS}/5", status=204)
    assert api(github).generate_jitconfig("box-gpu0", ["gpu"]).runner_id == 7
    assert [(c.method, c.path) for c in github.calls] == [
        ("POST", f"{RUNNERS}/generate-jitconfig"),
        ("GET", RUNNERS),
        ("DELETE", f"{RUNNERS}/5"),
        ("POST", f"{RUNNERS}/generate-jitconfig"),
    ]
    assert github.calls[1].query["name"] == ["box-gpu0"]


def test_registration_and_remove_tokens(github: GitHubStub) -> None:
    github.add("POST", f"{RUNNERS}/registration-token", status=201, json={"token": "REG", "expires_at": "2030-01-01T00:00:00Z"})
    github.add("POST", f"{RUNNERS}/remove-token", status=201, json={"token": "REM"})
    assert api(github).registration_token() == "REG"
    assert api(github).remove_token() == "REM"
    org = RunnersAPI(GitHubClient(SECRET, api_url=github.url), Scope.parse(org="acme"))
    github.add("POST", "/orgs/acme/actions/runners/registration-token", status=201, json={"token": "ORG"})
    assert org.registration_token() == "ORG"


def test_list_follows_pagination(github: GitHubStub) -> None:
    github.add("GET", RUNNERS, json={"total_count": 3, "runners": [runner(1, "a"), runner(2, "b")]},
               headers={"Link": '<{url}/repos/acme/vision/actions/runners?per_page=2&page=2>; rel="next"'})
    github.add("GET", f"{RUNNERS}?per_page=2&page=2", json={"total_count": 3, "runners": [runner(3, "c")]})
    assert [r["name"] for r in api(github).list()] == ["a", "b", "c"]
    assert github.calls[0].query["per_page"] == ["100"]


def test_delete(github: GitHubStub) -> None:
    github.add("DELETE", f"{RUNNERS}/9", status=204)
    api(github).delete(9)
    assert github.calls_to("DELETE", f"{RUNNERS}/9")


@pytest.mark.parametrize(
    ("status", "message", "expect"),
    [
        (401, "Bad credentials", "rejected the token"),
        (403, "Resource not accessible by personal access token", "lacks a permission"),
        (404, "Not Found", "check the owner/repository name"),
        (422, "Validation Failed", "could not process"),
        (500, "Server Error", "GitHub-side error"),
    ],
)
def test_error_answers_are_clear_and_never_show_the_token(github: GitHubStub, status: int, message: str, expect: str) -> None:
    github.error("POST", f"{RUNNERS}/registration-token", status, message)
    with pytest.raises(GitHubError) as info:
        api(github, max_retries=0).registration_token()
    text = str(info.value)
    assert expect in text and message in text and str(status) in text
    assert SECRET not in text and SECRET not in repr(info.value)
    assert info.value.status == status


def test_422_lists_the_field_errors(github: GitHubStub) -> None:
    github.add("POST", f"{RUNNERS}/generate-jitconfig", status=422,
               json={"message": "Validation Failed", "errors": [{"resource": "Runner", "field": "labels", "code": "invalid"}]})
    with pytest.raises(GitHubError, match="field=labels"):
        api(github).generate_jitconfig("x", ["bad label"], replace=False)


def test_rate_limit_with_retry_after_is_retried(github: GitHubStub) -> None:
    github.error("GET", RUNNERS, 403, "You have exceeded a secondary rate limit", headers={"Retry-After": "1"})
    github.add("GET", RUNNERS, json={"total_count": 0, "runners": []})
    waits: list[float] = []
    client = GitHubClient(SECRET, api_url=github.url, sleep=waits.append)
    assert RunnersAPI(client, Scope.parse(repo="acme/vision")).list() == []
    assert waits == [1.0]


def test_rate_limit_reset_far_away_is_an_error_with_the_time(github: GitHubStub) -> None:
    github.error("GET", RUNNERS, 403, "API rate limit exceeded",
                 headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1700003600"})
    client = GitHubClient(SECRET, api_url=github.url, now=lambda: 1700000000.0, sleep=lambda s: None)
    with pytest.raises(GitHubRateLimited) as info:
        RunnersAPI(client, Scope.parse(repo="acme/vision")).list()
    assert info.value.retry_after == 3600 and "resets in 3600 s" in str(info.value) and "23:13:20 UTC" in str(info.value)


def test_429_and_server_errors_retry_then_succeed(github: GitHubStub) -> None:
    github.add("POST", f"{RUNNERS}/remove-token", status=502, json={"message": "Bad Gateway"})
    github.add("POST", f"{RUNNERS}/remove-token", status=201, json={"token": "T"})
    assert api(github).remove_token() == "T"


def test_unreachable_api() -> None:
    client = GitHubClient(SECRET, api_url="http://127.0.0.1:9", timeout=2)
    with pytest.raises(GitHubError, match="cannot reach the GitHub API"):
        client.get("rate_limit")


def test_api_url_and_token_from_env(github: GitHubStub, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(GitmlError, match="no GitHub token"):
        client_from_env()
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("GITML_RUNNER_TOKEN", SECRET)
    client = client_from_env()
    assert client.api_url == github.url and SECRET not in repr(client)


@pytest.mark.parametrize(("repo", "org"), [("nope", None), (None, "bad/org"), (None, None), ("a/b", "c")])
def test_scope_validation(repo: str | None, org: str | None) -> None:
    with pytest.raises(GitmlError):
        Scope.parse(repo, org)
