"""One DVC cache per machine: two runner clones pull the same outputs and the second stores no second copy;
the GC keeps what main, the registry tags and open PRs reference."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from github_stub import GitHubStub

from gitml.forge.github import GitHubClient
from gitml.proc import dvc_argv
from gitml.runners import cache

MIB = 1 << 20


def run(cwd: Path, *argv: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result.stdout + result.stderr


def dvc(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return run(cwd, *dvc_argv(), *args, env=env)


def write_data(repo: Path, seed: int) -> None:
    (repo / "data").mkdir(exist_ok=True)
    (repo / "data" / "train.bin").write_bytes(os.urandom(MIB) + bytes([seed]))


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, Path]:
    """A DVC project that pushed 1 MiB of data to a local remote (the 'third clone')."""
    repo, remote = tmp_path / "project", tmp_path / "remote"
    repo.mkdir()
    remote.mkdir()
    run(repo, "git", "init", "-q", "-b", "main")
    dvc(repo, "init", "-q")
    (repo / ".dvc" / "config").write_text(f"[core]\n    remote = local\n    autostage = true\n['remote \"local\"']\n    url = {remote}\n")
    write_data(repo, 1)
    dvc(repo, "add", "-q", "data/train.bin")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "data v1")
    dvc(repo, "push", "-q")
    return repo, remote


def test_two_runners_share_one_cache(tmp_path: Path, project: tuple[Path, Path]) -> None:
    repo, _ = project
    shared = tmp_path / "machine" / "cache" / "dvc"
    config_dir = tmp_path / "machine" / "etc" / "dvc"
    cache.make_shared_dir(shared)
    cache.configure_machine(config_dir, str(shared), ("hardlink", "symlink"))
    runner_env = {**os.environ, "DVC_GLOBAL_CONFIG_DIR": str(config_dir)}  # what each runner's env file sets

    clones = [tmp_path / f"runner{i}" / "_work" / "project" for i in (0, 1)]
    outputs = []
    for clone in clones:
        run(tmp_path, "git", "clone", "-q", str(repo), str(clone))
        outputs.append(dvc(clone, "pull", env=runner_env))
    assert "fetched" in outputs[0]
    assert "fetched" not in outputs[1]  # the second runner found everything in the shared cache

    objects = [p for p in (shared / "files").rglob("*") if p.is_file()]
    assert len(objects) == 1
    data = [c / "data" / "train.bin" for c in clones]
    assert all(p.read_bytes() == (repo / "data" / "train.bin").read_bytes() for p in data)
    assert data[0].stat().st_ino == data[1].stat().st_ino == objects[0].stat().st_ino  # hardlinks of the one copy
    # Disk use: the cache and both checkouts hold one copy, not three (nor two).
    together = cache.unique_bytes(shared, *clones)
    assert MIB <= together < MIB + 256 * 1024
    copies = sum(p.stat().st_size for p in [*data, *objects])  # what copies instead of links would take
    assert copies > 3 * MIB > 2.5 * together
    assert not (clones[0] / ".dvc" / "cache").exists()  # nothing went to a per-checkout cache
    assert cache.cache_stats(shared)["objects"] == 1


def test_configure_checkout_keeps_other_settings(tmp_path: Path, project: tuple[Path, Path]) -> None:
    repo, _ = project
    local = repo / ".dvc" / "config.local"
    local.write_text("[core]\n    no_scm = false\n[cache]\n    dir = /old\n")
    cache.configure_checkout(repo, "/srv/cache", ("hardlink",))
    text = local.read_text()
    assert "no_scm = false" in text and "/old" not in text and "dir = /srv/cache" in text
    assert dvc(repo, "config", "cache.dir").strip().endswith("/srv/cache")
    with pytest.raises(Exception, match="not a DVC repository"):
        cache.configure_checkout(tmp_path, "/srv/cache")
    with pytest.raises(Exception, match="invalid DVC cache type"):
        cache.cache_section("/c", ("teleport",))


def test_gc_keeps_main_registry_tags_and_open_prs(tmp_path: Path, project: tuple[Path, Path], github: GitHubStub) -> None:
    repo, _ = project
    shared = tmp_path / "cache"
    cache.configure_checkout(repo, str(shared), ("hardlink", "symlink"))
    dvc(repo, "fetch", "-q")  # v1 object into the shared cache

    def commit_data(seed: int, message: str) -> str:
        dvc(repo, "unprotect", "data/train.bin")
        write_data(repo, seed)
        dvc(repo, "add", "-q", "data/train.bin")
        run(repo, "git", "commit", "-q", "-am", message)
        return run(repo, "git", "rev-parse", "HEAD").strip()

    run(repo, "git", "tag", "-a", "model@v1.0.0", "-m", "register v1")  # registry tag -> v1
    commit_data(2, "data v2 (PR 1)")
    run(repo, "git", "update-ref", "refs/pull/1/head", "HEAD")  # open PR -> v2
    commit_data(3, "data v3 (closed PR 2)")
    run(repo, "git", "update-ref", "refs/pull/2/head", "HEAD")  # closed PR -> collected
    run(repo, "git", "tag", "scratch")  # not a registry tag -> collected
    run(repo, "git", "reset", "-q", "--hard", "HEAD~2")
    main_sha = commit_data(4, "data v4 on main")  # main -> v4
    assert len(list((shared / "files").rglob("*"))) > 4

    github.add("GET", "/repos/acme/vision/pulls", json=[{"number": 1}])
    busy = tmp_path / "busy"
    cache.mark_busy(busy, "box-gpu0", {})
    common = dict(repo="acme/vision", repo_url=str(repo), workdir=tmp_path / "gc", cache_dir=str(shared),
                  client=GitHubClient(None, api_url=github.url), busy_dir=busy)
    skipped = cache.collect(**common)
    assert not skipped.ran and "box-gpu0" in skipped.reason
    cache.clear_busy(busy, "box-gpu0")

    result = cache.collect(**common)
    assert result.ran and result.kept_pulls == [1] and result.kept_tags == ["model@v1.0.0"] and result.kept_branches == ["main"]
    assert github.calls[-1].query["state"] == ["open"]
    remaining = {p.read_bytes()[-1] for p in (shared / "files").rglob("*") if p.is_file() and p.stat().st_size > MIB - 1}
    assert remaining == {1, 2, 4}  # v3 (closed PR, scratch tag) is gone
    assert result.bytes_after < result.bytes_before
    assert run(repo, "git", "rev-parse", "main").strip() == main_sha
