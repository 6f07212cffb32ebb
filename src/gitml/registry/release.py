"""`gitml ci release`: on a push to main, register a new version of each artifact whose output changed.

1. compare each artifact's output hash in dvc.lock with the latest registered version's;
2. verify every output recorded at the commit is in the DVC remote (else fail: no tag without artifacts);
3. bump (a `release:major|minor|patch|skip` label on the merged PR overrides the default);
4. create and push the annotated tag; when another release pushed that tag first, fetch and retry;
5. publish a GitHub Release whose body is the model card.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError
from gitml.registry import api, card, gitops, names, provenance, store
from gitml.registry.settings import RegistrySettings
from gitml.registry.settings import load as load_settings

LABELS = ("release:skip", "release:major", "release:minor", "release:patch")  # precedence order
MAX_ATTEMPTS = 5


@dataclass
class ReleaseResult:
    commit: str
    bump: str
    bump_source: str
    released: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"version": 1, **self.__dict__}


def _github(github_repo: str | None):
    from gitml.forge.github import GitHubClient

    if not github_repo:
        return None
    if "/" not in github_repo or github_repo.count("/") != 1:
        raise GitmlError(f"invalid GitHub repository {github_repo!r}", hint="use owner/name, e.g. acme/models")
    return GitHubClient.from_env(token_hint="set GITHUB_TOKEN (the workflow's token with contents: write)")


def merged_pr_bump(client: Any, github_repo: str, sha: str) -> tuple[str | None, str]:
    """The bump a release:* label on the PR merged as sha asks for, and where it came from."""
    pulls = client.get(f"/repos/{github_repo}/commits/{sha}/pulls") or []
    merged = [p for p in pulls if isinstance(p, dict) and p.get("merged_at")]
    pr = next((p for p in merged if p.get("merge_commit_sha") == sha), merged[0] if merged else None)
    if pr is None:
        return None, "no merged pull request for this commit"
    labels = {lbl.get("name") for lbl in pr.get("labels") or () if isinstance(lbl, dict)}
    for label in LABELS:
        if label in labels:
            return label.split(":", 1)[1], f"label {label} on PR #{pr.get('number')}"
    return None, f"PR #{pr.get('number')} has no release:* label"


def _previous_hash(root: str | os.PathLike[str], art: store.ArtifactState, path: str) -> str | None:
    latest = art.latest()
    if latest is None:
        return None
    prov = provenance.parse_message(latest.registration.message if latest.registration else None)
    if prov and (prov.get("artifact") or {}).get("hash"):
        return prov["artifact"]["hash"]
    # registered by another tool (e.g. `gto register`): look at that commit's dvc.lock
    old = provenance.artifacts_at(root, latest.commit).get(art.name, {}).get("path", path)
    return provenance.fingerprint(root, latest.commit, old)


def changed_artifacts(root: str | os.PathLike[str], commit: str) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """(artifacts whose output differs from their latest version, the unchanged ones with why)."""
    declared = provenance.artifacts_at(root, commit)
    state = store.load(root, messages=True)
    lock = provenance.lock_at(root, commit)
    changed, unchanged = [], []
    for name, decl in sorted(declared.items()):
        names.validate_name(name)
        if not isinstance(decl.get("path"), str):
            raise GitmlError(f"artifact {name!r} in dvc.yaml has no path", hint="give it `path: models/...`")
        art = state.get(name) or store.ArtifactState(name)
        now = provenance.fingerprint(root, commit, decl["path"], lock)
        latest = art.latest()
        if now is None:
            unchanged.append({"artifact": name, "reason": f"{decl['path']} is not produced at this commit"})
        elif art.deprecated is not None:
            unchanged.append({"artifact": name, "reason": "the artifact is deprecated"})
        elif any(v.commit == commit for v in art.sorted_versions()):
            unchanged.append({"artifact": name, "reason": "this commit is already registered", "latest": latest.version if latest else None})
        elif latest is not None and _previous_hash(root, art, decl["path"]) == now:
            unchanged.append({"artifact": name, "reason": f"model unchanged since {latest.version}", "latest": latest.version})
        else:
            changed.append((name, decl))
    return changed, unchanged


def _register_with_retry(root: str | os.PathLike[str], name: str, bump: str, commit: str, push: bool,
                         settings: RegistrySettings) -> api.TagResult | None:
    for _ in range(MAX_ATTEMPTS):
        try:
            return api.register(root, name, bump=bump, rev=commit, push=push, check_remote=False, settings=settings)
        except gitops.TagExistsOnRemote:
            gitops.fetch_tags(root, settings.remote)
            art = store.load(root, artifact=name).get(name)
            if art and any(v.commit == commit for v in art.sorted_versions()):
                return None  # the other release registered this very commit
    raise GitmlError(
        f"could not register {name}: {MAX_ATTEMPTS} other releases pushed the next version first",
        hint="re-run the release job",
    )


def _publish(client: Any, github_repo: str, name: str, result: api.TagResult, root: str | os.PathLike[str],
             decl: dict[str, Any]) -> str | None:
    from gitml.forge.github import GitHubError

    view = api.show(root, name)
    previous = [v for v in view["versions"] if v["version"] != result.version and v["active"]]
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    body = card.render(name, result.version or "", result.provenance or {}, description=decl.get("desc"),
                       previous=previous, repo_url=f"{server}/{github_repo}")
    payload = {"tag_name": result.tag, "name": f"{name} {result.version}", "body": body, "draft": False, "prerelease": False}
    try:
        rel = client.post(f"/repos/{github_repo}/releases", payload)
    except GitHubError as exc:
        if exc.status != 422:
            raise
        # a re-run: the release exists already; bring its card up to date
        existing = client.get(f"/repos/{github_repo}/releases/tags/{result.tag}")
        rel = client.patch(f"/repos/{github_repo}/releases/{existing['id']}", {"name": payload["name"], "body": body})
    return (rel or {}).get("html_url")


def release(
    root: str | os.PathLike[str] = ".",
    *,
    sha: str = "HEAD",
    bump: str | None = None,
    github_repo: str | None = None,
    push: bool = True,
    settings: RegistrySettings | None = None,
) -> ReleaseResult:
    """Register what changed at sha; see the module docstring."""
    root = Path(root)
    settings = settings or load_settings(root)
    default_bump = names.validate_bump(bump or settings.bump)
    gitops.require_clean(root)
    commit = gitops.resolve_commit(root, sha)
    if push:
        gitops.fetch_tags(root, settings.remote)
    client = _github(github_repo) if push else None
    if client is not None and not client.has_token:
        raise GitmlError("GITHUB_TOKEN is not set", hint="give the release job `env: GITHUB_TOKEN: ${{ github.token }}`")
    changed, unchanged = changed_artifacts(root, commit)
    result = ReleaseResult(commit, default_bump, "default", unchanged=unchanged)
    if not changed:
        result.notes.append("no model output changed: nothing registered")
        return result
    if client is not None:
        label_bump, source = merged_pr_bump(client, github_repo, commit)  # type: ignore[arg-type]
        result.notes.append(source)
        if label_bump == "skip":
            result.bump, result.bump_source = "skip", source
            result.notes.append("release:skip: nothing registered")
            return result
        if label_bump:
            result.bump, result.bump_source = label_bump, source
    from gitml.registry.remote import require_outputs_in_remote

    require_outputs_in_remote(root, commit)
    for name, decl in changed:
        tag = _register_with_retry(root, name, result.bump, commit, push, settings)
        if tag is None:
            result.notes.append(f"{name}: another release registered this commit first")
            continue
        url = _publish(client, github_repo, name, tag, root, decl) if client is not None else None  # type: ignore[arg-type]
        result.released.append({"artifact": name, "version": tag.version, "tag": tag.tag, "pushed": tag.pushed, "release_url": url})
    return result


def render(result: ReleaseResult) -> str:
    lines = []
    for r in result.released:
        lines.append(f"released {r['artifact']} {r['version']} ({r['tag']})" + (f": {r['release_url']}" if r["release_url"] else ""))
    for u in result.unchanged:
        lines.append(f"{u['artifact']}: {u['reason']}")
    lines += result.notes
    if not result.released:
        lines.append("nothing registered")
    return "\n".join(lines)
