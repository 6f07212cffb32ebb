"""One sticky comment per pull request, found by CML's watermark and updated in place.

Two posters write the same comment:

- `cml`: runs `cml comment update --target=pr --watermark-title=TITLE --no-publish FILE`
  (CML's default would upload local images to asset.cml.dev; we never send images to a host);
- `native`: the REST client in gitml.forge.github, for runners without Node.js.

Both end the body with CML's watermark, `![](https://cml.dev/watermark.png#SHA "CML watermark TITLE")`,
and both find the comment by that watermark ignoring the sha, so either updates the
comment the other made.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError
from gitml.forge.github import GitHubClient

WATERMARK_IMAGE = "https://cml.dev/watermark.png"
POSTERS = ("cml", "native", "none")


class Watermark:
    """CML's watermark (src/watermark.js), byte for byte."""

    def __init__(self, label: str = "", sha: str | None = None) -> None:
        self.label = label
        self.sha = sha

    @property
    def title(self) -> str:
        title = f"CML watermark {self.label}".strip()
        # GitHub returns these escaped in comment bodies; CML escapes them too so that they match.
        for char in ("_", "*", "[", "<"):
            title = title.replace(char, "\\" + char)
        return title

    def url(self) -> str:
        return f"{WATERMARK_IMAGE}#{self.sha}" if self.sha else WATERMARK_IMAGE

    def __str__(self) -> str:
        return f'![]({self.url()} "{self.title}")'

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(re.escape(f"![]({WATERMARK_IMAGE}") + r"#[0-9a-fA-F]+ " + re.escape(f'"{self.title}")'))

    def is_in(self, text: str) -> bool:
        """CML's test: the watermark anywhere in the text, whatever its sha."""
        return bool(self.pattern.search(text or ""))

    def ends(self, text: str) -> bool:
        """Stricter: the watermark is the body's last line, as both posters write it.

        A comment that merely quotes a report (`> ![](...)`) or embeds it mid-text is
        someone else's and is left alone.
        """
        last = (text or "").rstrip().rsplit("\n", 1)[-1]
        return bool(self.pattern.fullmatch(last.strip())) and not last.lstrip().startswith(">")

    def append_to(self, body: str) -> str:
        return f"{body.rstrip()}\n\n{self}"


@dataclass(frozen=True)
class Posted:
    action: str  # created | updated | skipped
    url: str | None = None
    comment_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "url": self.url, "comment_id": self.comment_id}


def find_sticky(client: GitHubClient, repo: str, number: int, watermark: Watermark) -> dict[str, Any] | None:
    """The newest comment on the PR whose last line is our watermark."""
    found = None
    for comment in client.paginate(f"/repos/{repo}/issues/{number}/comments"):
        if watermark.ends(str(comment.get("body") or "")):
            found = comment  # comments come oldest first: keep the newest
    return found


def post_native(client: GitHubClient, repo: str, number: int, body: str, watermark: Watermark) -> Posted:
    """Create the sticky comment, or update the one already there."""
    text = watermark.append_to(body)
    existing = find_sticky(client, repo, number, watermark)
    if existing is None:
        made = client.post(f"/repos/{repo}/issues/{number}/comments", {"body": text}, expected=(201,))
        return Posted("created", (made or {}).get("html_url"), (made or {}).get("id"))
    made = client.patch(f"/repos/{repo}/issues/comments/{existing['id']}", {"body": text})
    return Posted("updated", (made or {}).get("html_url") or existing.get("html_url"), existing["id"])


def cml_argv(markdown_file: str | Path, *, title: str, sha: str | None = None, cml: str = "cml") -> list[str]:
    """The exact CML command line: update the PR's sticky comment, never upload images."""
    argv = [cml, "comment", "update", "--target=pr", f"--watermark-title={title}", "--no-publish"]
    if sha:
        argv.append(f"--commit-sha={sha}")
    return [*argv, str(markdown_file)]


def post_cml(markdown_file: str | Path, *, title: str, sha: str | None = None,
             env: Mapping[str, str] | None = None) -> Posted:
    """Run CML. Its token comes from REPO_TOKEN/GITHUB_TOKEN in the environment; it is never on the command line."""
    cml = shutil.which("cml", path=(env or os.environ).get("PATH"))
    if cml is None:
        raise GitmlError("the CML poster needs `cml`, which is not on PATH",
                         hint="add the iterative/setup-cml step, or use --poster native (no Node.js needed)")
    argv = cml_argv(markdown_file, title=title, sha=sha, cml=cml)
    proc = subprocess.run(argv, env=dict(env) if env is not None else None, text=True, capture_output=True)
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().splitlines()
        raise GitmlError(f"`cml comment update` failed with exit code {proc.returncode}: {said[-1] if said else 'no output'}",
                         hint="check REPO_TOKEN/GITHUB_TOKEN and `pull-requests: write`; the report is in the job summary")
    url = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else None
    return Posted("updated", url)
