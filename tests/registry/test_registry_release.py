"""`gitml ci release`: verify outputs, bump by PR label, push the tag (racing), publish a GitHub Release."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from gitml.cli import main
from gitml.errors import GitmlError
from gitml.registry import api, gitops, release

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from github_stub import GitHubStub  # noqa: E402

TOKEN = "ghs_secret_token_value"
REPO = "acme/models"


@pytest.fixture
def gh(monkeypatch: pytest.MonkeyPatch):
    with GitHubStub() as stub:
        monkeypatch.setenv("GITHUB_API_URL", stub.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
        yield stub


def pr(sha: str, *labels: str) -> list[dict]:
    return [{"number": 7, "merged_at": "2025-01-01T00:00:00Z", "merge_commit_sha": sha, "labels": [{"name": n} for n in labels]}]


def remote_tags(project) -> list[str]:
    return sorted(line.split("refs/tags/")[1] for line in project.git("ls-remote", "--tags", "--refs", "origin").splitlines())


def test_release_with_label_pushes_tag_and_publishes_model_card(project, gh, capsys) -> None:
    c1, c2, c3 = project.commits()
    api.register(project.repo, "model", rev=c1, push=True, check_remote=False)  # v0.1.0, the previous model
    api.promote(project.repo, "model", "v0.1.0", "dev", push=True)
    gh.add("GET", f"/repos/{REPO}/commits/{c3}/pulls", json=pr(c3, "release:major", "bug"))
    gh.add("POST", f"/repos/{REPO}/releases", status=201, json={"id": 1, "html_url": "https://github.example/r/1"})
    capsys.readouterr()
    code = main(["ci", "release", "-C", str(project.repo), "--github-repo", REPO, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    result = json.loads(out)
    assert result["bump"] == "major" and "release:major on PR #7" in result["bump_source"]
    assert result["released"] == [{"artifact": "model", "version": "v1.0.0", "tag": "model@v1.0.0", "pushed": True,
                                   "release_url": "https://github.example/r/1"}]
    assert "model@v1.0.0" in remote_tags(project)
    assert api.show(project.repo, "model", version="v1.0.0")["versions"][0]["commit"] == c3
    (call,) = gh.calls_to("POST", f"/repos/{REPO}/releases")
    body = call.json["body"]
    assert call.json["tag_name"] == "model@v1.0.0" and call.json["name"] == "model v1.0.0"
    assert "# model v1.0.0" in body and "A tiny test model" in body
    assert "| accuracy | 0.82 | v0.1.0 |" not in body and "| accuracy | 0.82 | 0.81 | +0.01 |" in body
    assert "| params.yaml | seed | `2` |" in body and "`models/model.bin`" in body
    assert "xychart-beta" in body and '"v0.1.0", "v1.0.0"' in body
    assert f"https://github.example/{REPO}/commit/{c3}" in body
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in out + err

    # the same push again (a re-run): the commit is registered already, nothing happens
    again = release.release(project.repo, github_repo=REPO)
    assert again.released == [] and again.unchanged[0]["reason"] == "this commit is already registered"


def test_merge_that_does_not_change_the_model_registers_nothing(project, gh) -> None:
    c1, c2, c3 = project.commits()
    api.register(project.repo, "model", rev=c2, push=True, check_remote=False)
    result = release.release(project.repo, github_repo=REPO)
    assert result.released == [] and result.unchanged == [
        {"artifact": "model", "reason": "model unchanged since v0.1.0", "latest": "v0.1.0"}]
    assert "nothing registered" in release.render(result)
    assert gh.calls == []  # not even the labels were needed
    assert remote_tags(project) == ["model@v0.1.0"]


def test_skip_label_registers_nothing(project, gh) -> None:
    c3 = project.commits()[-1]
    gh.add("GET", f"/repos/{REPO}/commits/{c3}/pulls", json=pr(c3, "release:skip", "release:major"))
    result = release.release(project.repo, github_repo=REPO)
    assert result.bump == "skip" and result.released == []
    assert project.git("tag", "-l") == "" and remote_tags(project) == []


def test_lost_race_retries_with_the_next_version(project, gh, monkeypatch) -> None:
    c1, c2, c3 = project.commits()
    # another release pushed model@v0.1.0 (for an older commit) right after our fetch
    project.git("tag", "-a", "model@v0.1.0", c1, "-m", "Register model v0.1.0")
    project.git("push", "-q", "origin", "refs/tags/model@v0.1.0")
    project.git("tag", "-d", "model@v0.1.0")
    real_fetch, fetches = gitops.fetch_tags, []

    def late_fetch(root, remote):
        fetches.append(remote)
        if len(fetches) > 1:
            real_fetch(root, remote)

    monkeypatch.setattr(gitops, "fetch_tags", late_fetch)
    gh.add("GET", f"/repos/{REPO}/commits/{c3}/pulls", json=[])
    gh.add("POST", f"/repos/{REPO}/releases", status=201, json={"html_url": "u"})
    result = release.release(project.repo, github_repo=REPO)
    assert [r["tag"] for r in result.released] == ["model@v0.2.0"]
    assert len(fetches) == 2
    assert remote_tags(project) == ["model@v0.1.0", "model@v0.2.0"]
    assert project.git("rev-list", "-n1", "model@v0.2.0") == c3


def test_outputs_missing_from_the_dvc_remote_fail_before_any_tag(project, gh) -> None:
    shutil.rmtree(project.remote)
    project.remote.mkdir()
    c3 = project.commits()[-1]
    gh.add("GET", f"/repos/{REPO}/commits/{c3}/pulls", json=pr(c3))
    with pytest.raises(GitmlError, match="not in the DVC remote"):
        release.release(project.repo, github_repo=REPO)
    assert project.git("tag", "-l") == "" and remote_tags(project) == []
    assert gh.calls_to("POST", f"/repos/{REPO}/releases") == []


def test_github_errors_are_clear_and_write_nothing(project, gh, capsys) -> None:
    c3 = project.commits()[-1]
    gh.error("GET", f"/repos/{REPO}/commits/{c3}/pulls", 401, "Bad credentials")
    capsys.readouterr()
    assert main(["ci", "release", "-C", str(project.repo), "--github-repo", REPO]) == 1
    err = capsys.readouterr().err
    assert "GitHub rejected the token" in err and TOKEN not in err
    assert project.git("tag", "-l") == ""


def test_existing_release_is_updated_on_rerun(project, gh) -> None:
    c3 = project.commits()[-1]
    gh.add("GET", f"/repos/{REPO}/commits/{c3}/pulls", json=pr(c3, "release:patch"))
    gh.error("POST", f"/repos/{REPO}/releases", 422, "Validation Failed")
    gh.add("GET", f"/repos/{REPO}/releases/tags/model@v0.0.1", json={"id": 42})
    gh.add("PATCH", f"/repos/{REPO}/releases/42", json={"id": 42, "html_url": "https://github.example/r/42"})
    result = release.release(project.repo, github_repo=REPO)
    assert result.released[0]["version"] == "v0.0.1" and result.released[0]["release_url"].endswith("/42")
    assert "The first version of this artifact." in gh.calls_to("PATCH", f"/repos/{REPO}/releases/42")[0].json["body"]


def test_release_without_github_uses_the_default_bump(project) -> None:
    result = release.release(project.repo, push=False)
    assert result.released[0]["tag"] == "model@v0.1.0" and not result.released[0]["pushed"]
    assert remote_tags(project) == []
