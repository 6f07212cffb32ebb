"""The sticky comment: CML's watermark exactly, create then update in place, others' comments left alone,
clear errors, the token never shown, GITHUB_API_URL honoured; commit statuses and label removal."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from github_stub import GitHubStub
from pr_fakes import FakePullRequest

from gitml.errors import GitmlError
from gitml.forge import comment as comment_mod
from gitml.forge import status as status_mod
from gitml.forge.github import GitHubClient, GitHubError

TOKEN = "ghs_secret_token_value_123"


def test_watermark_matches_cml_byte_for_byte() -> None:
    w = comment_mod.Watermark("gitml", "0123abcd")
    assert str(w) == '![](https://cml.dev/watermark.png#0123abcd "CML watermark gitml")'
    # CML escapes markdown characters in the title the way GitHub returns them
    assert comment_mod.Watermark("my_model*").title == "CML watermark my\\_model\\*"
    assert w.is_in("report\n\n![](https://cml.dev/watermark.png#ffff0000 \"CML watermark gitml\")")  # sha ignored
    assert not w.is_in('![](https://cml.dev/watermark.png#ffff "CML watermark gitml-other")')


def test_first_run_creates_second_updates_others_left_alone() -> None:
    with GitHubStub() as gh:
        pr = FakePullRequest(gh, "o/r", 7)
        ours_title = comment_mod.Watermark("gitml", "aaaa")
        human = pr.seed("alice", "LGTM, but see the report:\n> report\n>\n> " + str(ours_title))  # a quote
        other = pr.seed("bot2", "other tool\n\n" + str(comment_mod.Watermark("gitml-nightly", "bbbb")), "Bot")
        mid = pr.seed("carol", f"{ours_title}\nmy own notes below the image")
        client = GitHubClient(TOKEN, api_url=gh.url)

        first = comment_mod.post_native(client, "o/r", 7, "## report v1", comment_mod.Watermark("gitml", "1111"))
        assert first.action == "created"
        second = comment_mod.post_native(client, "o/r", 7, "## report v2", comment_mod.Watermark("gitml", "2222"))
        assert second.action == "updated" and second.comment_id == first.comment_id

        ours = [c for c in pr.comments if c["id"] == first.comment_id]
        assert len(pr.comments) == 4 and len(ours) == 1  # never duplicated
        assert ours[0]["body"] == '## report v2\n\n![](https://cml.dev/watermark.png#2222 "CML watermark gitml")'
        patched = {c.path for c in gh.calls if c.method == "PATCH"}
        assert patched == {f"/repos/o/r/issues/comments/{first.comment_id}"}
        for c in (human, other, mid):  # untouched
            assert c["body"] == next(x for x in pr.comments if x["id"] == c["id"])["body"]
        # the token went in the header only, as a Bearer token
        assert all(c.headers["authorization"] == f"Bearer {TOKEN}" for c in gh.calls)


def test_updates_a_comment_cml_made() -> None:
    with GitHubStub() as gh:
        pr = FakePullRequest(gh, "o/r", 7)
        made_by_cml = pr.seed("github-actions[bot]", "old\n\n" + str(comment_mod.Watermark("gitml", "deadbeef")), "Bot")
        posted = comment_mod.post_native(GitHubClient(TOKEN, api_url=gh.url), "o/r", 7, "new",
                                         comment_mod.Watermark("gitml", "cafe"))
        assert posted.action == "updated" and posted.comment_id == made_by_cml["id"]
        assert len(pr.comments) == 1


def test_github_api_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with GitHubStub() as gh:
        FakePullRequest(gh, "o/r", 3)
        monkeypatch.setenv("GITHUB_API_URL", gh.url + "/api/v3")  # GitHub Enterprise Server style
        gh.add("GET", "/api/v3/repos/o/r/issues/3/comments", json=[])
        gh.add("POST", "/api/v3/repos/o/r/issues/3/comments", status=201, json={"id": 1, "html_url": "u"})
        posted = comment_mod.post_native(GitHubClient(TOKEN), "o/r", 3, "x", comment_mod.Watermark("gitml", "ab"))
        assert posted.action == "created"
        assert [c.path for c in gh.calls] == ["/api/v3/repos/o/r/issues/3/comments"] * 2


@pytest.mark.parametrize(
    ("status", "message", "headers", "expected"),
    [
        (401, "Bad credentials", {}, "rejected the token"),
        (403, "Resource not accessible by integration", {}, "refused"),
        (404, "Not Found", {}, "no GET /repos/o/r/issues/9/comments (404"),
        (422, "Validation Failed", {}, "could not process"),
        (403, "API rate limit exceeded", {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "9999999999"},
         "rate limit"),
    ],
)
def test_error_answers_are_clear_and_hide_the_token(status: int, message: str, headers: dict, expected: str) -> None:
    with GitHubStub() as gh:
        gh.error("GET", "/repos/o/r/issues/9/comments", status, message, headers=headers)
        client = GitHubClient(TOKEN, api_url=gh.url, max_retries=0)
        with pytest.raises(GitHubError) as info:
            comment_mod.post_native(client, "o/r", 9, "body", comment_mod.Watermark("gitml", "ab"))
        text = str(info.value)
        assert expected in text and message in text
        assert TOKEN not in text and TOKEN not in repr(client)


def test_commit_status_and_label_removal() -> None:
    with GitHubStub() as gh:
        pr = FakePullRequest(gh, "o/r", 7)
        pr.watch_label("safe-to-train")
        client = GitHubClient(TOKEN, api_url=gh.url)
        status_mod.set_status(client, "o/r", "abc123", state="failure", context="gitml/gate",
                              description="x" * 300, target_url="https://example.invalid/run/1")
        assert pr.statuses[0][1]["state"] == "failure" and len(pr.statuses[0][1]["description"]) == 140
        assert status_mod.remove_label(client, "o/r", 7, "safe-to-train") is True
        assert status_mod.remove_label(client, "o/r", 7, "safe-to-train") is False  # already gone: not an error


def _recording_cml(tmp_path: Path, exit_code: int = 0) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    cml = bindir / "cml"
    cml.write_text(
        "#!/bin/sh\n"
        'printf "%s\\n" "$@" > "$CML_RECORD"\n'
        'env | grep -c "^REPO_TOKEN=" > "$CML_RECORD.token" || true\n'
        f'echo "https://github.com/o/r/pull/7#issuecomment-1"\nexit {exit_code}\n'
    )
    cml.chmod(cml.stat().st_mode | stat.S_IEXEC)
    return bindir


def test_cml_poster_exact_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = _recording_cml(tmp_path)
    record = tmp_path / "argv.txt"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CML_RECORD", str(record))
    monkeypatch.setenv("REPO_TOKEN", TOKEN)
    report = tmp_path / "report.md"
    report.write_text("## report\n")
    posted = comment_mod.post_cml(report, title="gitml", sha="0123abcd")
    assert record.read_text().splitlines() == [
        "comment", "update", "--target=pr", "--watermark-title=gitml", "--no-publish", "--commit-sha=0123abcd",
        str(report),
    ]
    assert TOKEN not in record.read_text()  # the token reaches CML through its environment only
    assert Path(f"{record}.token").read_text().strip() == "1"
    assert posted.url == "https://github.com/o/r/pull/7#issuecomment-1"


def test_cml_poster_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = tmp_path / "report.md"
    report.write_text("x")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(GitmlError, match="needs `cml`"):
        comment_mod.post_cml(report, title="gitml")
    bindir = _recording_cml(tmp_path, exit_code=1)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin:/bin")
    monkeypatch.setenv("CML_RECORD", str(tmp_path / "rec"))
    with pytest.raises(GitmlError, match="cml comment update` failed with exit code 1"):
        comment_mod.post_cml(report, title="gitml")
