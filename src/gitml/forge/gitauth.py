"""Git over HTTPS with the workflow's token, for every Git client a job runs: git itself and DVC.

`dvc exp push` and `dvc exp pull` speak Git through dulwich, which reads neither the
repository's `.git/config` (where actions/checkout would persist a token) nor
`GIT_CONFIG_COUNT` variables; it does read the global config file that `GIT_CONFIG_GLOBAL`
names. So, in GitHub Actions with a token, `git_auth()` writes a private global config
(mode 0600, in a temp folder removed afterwards) that includes the user's own and adds the
token as an `http.<server>/.extraheader`, and yields an environment pointing at it. The
token never appears on a command line, in a URL or in the checkout's `.git/config`.
Outside Actions (a developer's machine, tests) the environment is returned unchanged.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def git_auth(env: Mapping[str, str] | None = None) -> Iterator[dict[str, str]]:
    """An environment in which git and DVC authenticate to the GitHub server with GITHUB_TOKEN (or GH_TOKEN)."""
    out = dict(os.environ if env is None else env)
    token = out.get("GITHUB_TOKEN") or out.get("GH_TOKEN")
    if not token or out.get("GITHUB_ACTIONS") != "true":
        yield out
        return
    server = out.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    folder = Path(tempfile.mkdtemp(prefix="gitml-git-", dir=out.get("RUNNER_TEMP") or None))
    try:
        config = folder / "gitconfig"
        lines = []
        original = out.get("GIT_CONFIG_GLOBAL") or os.path.join(out.get("HOME", str(Path.home())), ".gitconfig")
        if os.path.exists(original):
            lines += ["[include]", f"\tpath = {original}"]
        lines += [f'[http "{server}/"]', f"\textraheader = AUTHORIZATION: basic {basic}"]
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        out["GIT_CONFIG_GLOBAL"] = str(config)
        yield out
    finally:
        shutil.rmtree(folder, ignore_errors=True)
