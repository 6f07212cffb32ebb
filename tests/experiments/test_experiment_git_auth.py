"""git and DVC (dulwich) authenticate with the workflow token through a private global config, never a URL or argv."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from pathlib import Path

import pytest

from gitml.forge.gitauth import git_auth


def test_outside_actions_nothing_changes() -> None:
    env = {"GITHUB_TOKEN": "secret", "HOME": "/nowhere"}
    with git_auth(env) as out:
        assert out == env


def test_in_actions_git_and_dulwich_send_the_token_as_a_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = Path(os.environ["GIT_CONFIG_GLOBAL"])
    original.write_text(original.read_text() + "[user]\n\tname = Someone\n")
    env = {**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_TOKEN": "s3cret", "RUNNER_TEMP": str(tmp_path)}
    expected = "AUTHORIZATION: basic " + base64.b64encode(b"x-access-token:s3cret").decode()
    with git_auth(env) as out:
        config = Path(out["GIT_CONFIG_GLOBAL"])
        assert config.parent.parent == tmp_path and stat.S_IMODE(config.stat().st_mode) == 0o600
        header = subprocess.run(["git", "config", "--get-urlmatch", "http.extraheader", "https://github.com/o/r.git"],
                                env=out, capture_output=True, text=True).stdout.strip()
        assert header == expected
        name = subprocess.run(["git", "config", "user.name"], env=out, capture_output=True, text=True).stdout.strip()
        assert name == "Someone"  # the user's own global config still applies
        monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
        from dulwich.config import StackedConfig

        # what `dvc exp push` uses: dulwich's default config stack reads the same file
        assert StackedConfig.default().get((b"http", b"https://github.com/"), b"extraheader") == expected.encode()
        assert "s3cret" not in " ".join(v for k, v in out.items() if k != "GITHUB_TOKEN")
    assert not config.exists()
