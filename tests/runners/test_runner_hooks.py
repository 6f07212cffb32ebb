"""Job hooks on sample job contexts: same-repo jobs pass, unapproved forks are refused, unhealthy GPUs fail fast."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from runner_support import DATA, KIT, RecordedSmi

from gitml.runners import hooks

BASE = "acme/vision"


def pr_event(head_repo: str | None, labels: tuple[str, ...] = (), action: str = "opened", fork: bool | None = None) -> dict:  # type: ignore[type-arg]
    head = None if head_repo is None else {"full_name": head_repo, "fork": head_repo != BASE if fork is None else fork}
    return {
        "action": action,
        "pull_request": {
            "number": 12,
            "labels": [{"name": name} for name in labels],
            "head": {"ref": "feature", "repo": head},
            "base": {"ref": "main", "repo": {"full_name": BASE, "fork": False}},
        },
    }


def job_env(tmp_path: Path, event_name: str, event: dict, **extra: str) -> dict[str, str]:  # type: ignore[type-arg]
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return {"GITHUB_EVENT_PATH": str(path), "GITHUB_EVENT_NAME": event_name, "GITHUB_REPOSITORY": BASE,
            "GITML_RUNNER_NAME": "box-gpu0", **extra}


def smi_with(tmp_path: Path, health: str, apps: str = "") -> RecordedSmi:
    scenario = tmp_path / "smi"
    shutil.copytree(DATA / "one-gpu", scenario)
    (scenario / "health.csv").write_text(health)
    (scenario / "apps.csv").write_text(apps)
    return RecordedSmi(scenario)


def gpu_uuid() -> str:
    return (DATA / "one-gpu" / "query.csv").read_text().split(", ")[1]


def test_same_repo_pull_request_passes_and_marks_busy(tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    env = job_env(tmp_path, "pull_request", pr_event(BASE), GITML_BUSY_DIR=str(busy), GITML_RUNNER_GPUS=gpu_uuid())
    lines = hooks.job_started(env, RecordedSmi(DATA / "one-gpu"))
    assert lines[0] == "origin ok: pull request #12 from a branch of acme/vision"
    assert lines[1].startswith("gpu ok: GPU 0: 31 C")
    assert json.loads((busy / "box-gpu0").read_text())["repository"] == BASE


def test_fork_without_approval_is_refused(tmp_path: Path) -> None:
    env = job_env(tmp_path, "pull_request", pr_event("mallory/vision"))
    with pytest.raises(hooks.HookRefused, match="refusing pull request #12 from mallory/vision.*safe-to-train"):
        hooks.job_started(env)


def test_fork_with_approval_label_passes(tmp_path: Path) -> None:
    env = job_env(tmp_path, "pull_request_target", pr_event("alice/vision", ("safe-to-train",), action="labeled"))
    assert "approved with `safe-to-train`" in hooks.job_started(env)[0]


def test_fork_push_after_approval_is_refused(tmp_path: Path) -> None:
    env = job_env(tmp_path, "pull_request", pr_event("alice/vision", ("safe-to-train",), action="synchronize"))
    with pytest.raises(hooks.HookRefused, match="new commits were pushed after"):
        hooks.job_started(env)


def test_deleted_fork_and_custom_label(tmp_path: Path) -> None:
    env = job_env(tmp_path, "pull_request", pr_event(None, ("ok-to-test",)), GITML_APPROVAL_LABEL="ok-to-test")
    assert "a deleted fork" in hooks.job_started(env)[0]
    with pytest.raises(hooks.HookRefused, match="a deleted fork"):
        hooks.job_started(job_env(tmp_path, "pull_request", pr_event(None)))


def test_same_name_fork_flag_is_still_a_fork(tmp_path: Path) -> None:
    with pytest.raises(hooks.HookRefused):
        hooks.job_started(job_env(tmp_path, "pull_request", pr_event(BASE, fork=True)))


@pytest.mark.parametrize(("association", "allowed"), [("MEMBER", True), ("OWNER", True), ("CONTRIBUTOR", False), ("NONE", False)])
def test_comment_jobs_only_from_trusted_people(tmp_path: Path, association: str, allowed: bool) -> None:
    event = {"comment": {"author_association": association, "user": {"login": "sam"}, "body": "/experiment lr=0.1"}}
    env = job_env(tmp_path, "issue_comment", event)
    if allowed:
        assert "sam" in hooks.job_started(env)[0]
    else:
        with pytest.raises(hooks.HookRefused, match=f"started by sam \\({association}\\)"):
            hooks.job_started(env)


def test_push_and_dispatch_pass(tmp_path: Path) -> None:
    assert "push" in hooks.job_started(job_env(tmp_path, "push", {"ref": "refs/heads/main"}))[0]
    assert "workflow_dispatch" in hooks.job_started(job_env(tmp_path, "workflow_dispatch", {}))[0]


def test_no_event_payload_is_refused() -> None:
    with pytest.raises(hooks.HookRefused, match="GITHUB_EVENT_PATH"):
        hooks.job_started({"GITHUB_EVENT_NAME": "push"})


@pytest.mark.parametrize(
    ("health", "apps", "expect"),
    [
        ("0, {u}, 34, 0, 3\n", "", "3 uncorrected ECC error"),
        ("0, {u}, 91, 0, 0\n", "", "is at 91 C"),
        ("0, {u}, 40, 20480, 0\n", "{u}, 4242, 20470, python\n", "in use by other processes: pid 4242 python"),
        ("0, {u}, 40, 9000, 0\n", "", "9000 MiB in use by processes this runner cannot see"),
        ("0, GPU-00000000-0000-0000-0000-000000000000, 40, 0, 0\n", "", "not visible to nvidia-smi"),
    ],
    ids=["ecc", "hot", "held-memory", "hidden-memory", "gone"],
)
def test_unhealthy_gpu_fails_fast(tmp_path: Path, health: str, apps: str, expect: str) -> None:
    u = gpu_uuid()
    smi = smi_with(tmp_path, health.format(u=u), apps.format(u=u))
    env = job_env(tmp_path, "push", {}, GITML_RUNNER_GPUS=u)
    with pytest.raises(hooks.HookRefused, match="unhealthy GPU, failing fast") as info:
        hooks.job_started(env, smi)
    assert expect in str(info.value)


def test_driver_failure_fails_fast(tmp_path: Path) -> None:
    env = job_env(tmp_path, "push", {}, GITML_RUNNER_GPUS=gpu_uuid())
    with pytest.raises(hooks.HookRefused, match="nvidia-smi failed"):
        hooks.job_started(env, RecordedSmi(DATA / "no-driver"))


def test_limits_from_env_and_mig_ignores_neighbours_memory(tmp_path: Path) -> None:
    u = gpu_uuid()
    smi = smi_with(tmp_path, f"0, {u}, 88, 30000, 0\n", f"{u}, 777, 30000, other-slice\n")
    env = job_env(tmp_path, "push", {}, GITML_RUNNER_GPUS=u, GITML_RUNNER_MIG="1", GITML_GPU_MAX_TEMP_C="90")
    assert hooks.job_started(env, smi)[1].startswith("gpu ok")
    with pytest.raises(Exception, match="not a whole number"):
        hooks.job_started({**env, "GITML_GPU_MAX_TEMP_C": "hot"}, smi)


def test_completed_cleans_workspace_keeps_caches(tmp_path: Path) -> None:
    runner_dir = tmp_path / "runner"
    workspace = runner_dir / "_work" / "vision" / "vision"
    (workspace / "data").mkdir(parents=True)
    (workspace / "data" / "big.bin").write_bytes(b"x" * 100)
    cache_dir = tmp_path / "cache" / "dvc"
    cache_dir.mkdir(parents=True)
    obj = cache_dir / "obj"
    obj.write_bytes(b"model")
    obj.chmod(0o444)
    linked = workspace / "model.pkl"
    os.link(obj, linked)  # a DVC output hardlinked from the cache, read-only
    (workspace / "readonly").mkdir()
    (workspace / "readonly" / "f").write_text("x")
    (workspace / "readonly").chmod(0o555)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "box-gpu0").write_text("{}")
    env = {"GITHUB_WORKSPACE": str(workspace), "GITML_RUNNER_DIR": str(runner_dir), "GITML_RUNNER_NAME": "box-gpu0",
           "GITML_CACHE_DIRS": f"{cache_dir}:{tmp_path / 'pip'}", "GITML_BUSY_DIR": str(busy)}
    assert "shared caches kept" in hooks.job_completed(env)[0]
    assert workspace.is_dir() and list(workspace.iterdir()) == []
    assert obj.read_bytes() == b"model" and (obj.stat().st_mode & 0o777) == 0o444  # cache object untouched
    assert not (busy / "box-gpu0").exists()


def test_completed_refuses_paths_outside_the_work_folder(tmp_path: Path) -> None:
    env = {"GITHUB_WORKSPACE": str(tmp_path), "GITML_RUNNER_DIR": str(tmp_path / "runner")}
    with pytest.raises(Exception, match="not inside the runner's work folder"):
        hooks.job_completed(env)


def test_hook_script_refuses_fork_with_an_annotation(tmp_path: Path) -> None:
    env = {**os.environ, **job_env(tmp_path, "pull_request", pr_event("mallory/vision")),
           "GITML_BIN": str(Path(sys.executable).parent / "gitml")}
    run = subprocess.run(["bash", str(KIT / "hooks/job-started.sh")], env=env, capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stdout.startswith("::error title=gitml runner refused this job::refusing pull request #12")
    assert "error: refusing pull request" in run.stderr
