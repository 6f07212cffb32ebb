"""Install into a temporary root: verified release, per-runner units and env files, credentials, status, remove."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from runner_support import DATA, KIT, RecordedSmi
from github_stub import GitHubStub
from test_runner_download import fake_release, sha

from gitml.cli import cli
from gitml.errors import GitmlError
from gitml.forge.github import GitHubClient
from gitml.runners import gpus, install, units
from gitml.runners.github_api import Scope
from gitml.runners.plan import make_plan

RUNNERS = "/repos/acme/vision/actions/runners"
GITML_BIN = str(Path(sys.executable).parent / "gitml")


@pytest.fixture
def tarball(tmp_path: Path) -> Path:
    return fake_release(tmp_path / "dl" / "actions-runner-linux-x64-9.9.9.tar.gz")


def options(release: Path, **kw) -> install.InstallOptions:  # type: ignore[no-untyped-def]
    base = dict(scope=Scope.parse(repo="acme/vision"), runner_version="9.9.9", sha256=sha(release),
                tarball=str(release), gitml_bin=GITML_BIN, gc_repo="acme/vision")
    return install.InstallOptions(**{**base, **kw})


def two_gpu_plan():  # type: ignore[no-untyped-def]
    return make_plan(gpus.discover(RecordedSmi(DATA / "eight-gpus")), host="box", arch="x86_64", gpus_per_runner=4)


def test_install_writes_units_env_files_and_manifest(tmp_path: Path, tarball: Path) -> None:
    root = tmp_path / "root"
    layout = units.Layout(root=root)
    plan = two_gpu_plan()
    actions = install.install_actions(plan, layout, options(tarball), KIT)
    install.apply(actions)
    skipped = [a.description for a in actions if a.run is None]
    assert any("create system user" in s for s in skipped) and any("systemctl" in s for s in skipped)

    for spec in plan.runners:
        env = units.parse_env((root / f"etc/gitml-runner/{spec.name}.env").read_text())
        assert env["CUDA_VISIBLE_DEVICES"] == ",".join(spec.devices) == env["NVIDIA_VISIBLE_DEVICES"]
        assert env["DVC_GLOBAL_CONFIG_DIR"] == "/etc/gitml-runner/dvc"
        assert env["PIP_CACHE_DIR"] == "/var/cache/gitml-runner/pip"
        assert env["ACTIONS_RUNNER_HOOK_JOB_STARTED"] == "/opt/gitml-runner/hooks/job-started.sh"
        assert env["ACTIONS_RUNNER_HOOK_JOB_COMPLETED"] == "/opt/gitml-runner/hooks/job-completed.sh"
        assert env["GITML_RUNNER_LABELS"] == ",".join(spec.labels)
        assert env["GITML_RUNNER_SCOPE"] == "repos/acme/vision" and env["GITML_RUNNER_MODE"] == "jit"
        assert not any("TOKEN" in k and k != "GITML_RUNNER_TOKEN" for k in env)  # no secret in the env file
        unit = (root / f"etc/systemd/system/gitml-runner-{spec.name}.service").read_text()
        assert f"EnvironmentFile=/etc/gitml-runner/{spec.name}.env" in unit
        assert f"ExecStartPre=+{GITML_BIN} runner credentials --token-file /etc/gitml-runner/github-token" in unit
        assert "User=gitml-runner" in unit and "Restart=always" in unit and "@" not in unit.replace("@.", "")
        runner_dir = root / f"var/lib/gitml-runner/runners/{spec.name}"
        assert (runner_dir / "run.sh").exists() and (runner_dir / "_work").is_dir()
    # The release is extracted once; runner directories hardlink it.
    release = root / "opt/gitml-runner/releases/9.9.9/run.sh"
    assert release.stat().st_nlink == 1 + len(plan.runners)
    for script in ("bin/gitml-runner-start", "hooks/job-started.sh", "hooks/job-completed.sh"):
        assert os.access(root / "opt/gitml-runner" / script, os.X_OK)
    dvc_config = (root / "etc/gitml-runner/dvc/config").read_text()
    assert "dir = /var/cache/gitml-runner/dvc" in dvc_config and "shared = group" in dvc_config
    assert 'type = "reflink,hardlink,symlink"' in dvc_config
    assert (root / "var/cache/gitml-runner/dvc").stat().st_mode & 0o2000  # setgid, shared group
    assert "OnCalendar=daily" in (root / "etc/systemd/system/gitml-cache-gc.timer").read_text()
    assert units.parse_env((root / "etc/gitml-runner/gc.env").read_text())["GITML_GC_REPO_URL"] == "https://github.com/acme/vision.git"
    manifest = json.loads((root / "etc/gitml-runner/runners.json").read_text())
    assert manifest["version"] == 1 and [r["name"] for r in manifest["runners"]] == ["box-gpu0-3", "box-gpu4-7"]


def test_dry_run_changes_nothing(tmp_path: Path, tarball: Path, smi_on_path) -> None:  # type: ignore[no-untyped-def]
    smi_on_path("one-gpu")
    root = tmp_path / "root"
    args = ["runner", "install", "--repo", "acme/vision", "--root", str(root), "--runner-version", "9.9.9",
            "--sha256", sha(tarball), "--tarball", str(tarball), "--host", "box", "--dry-run", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["dry_run"] and any("box-gpu0" in a["action"] for a in data["actions"])
    assert not root.exists()


def test_tarball_with_wrong_checksum_installs_nothing(tmp_path: Path, tarball: Path) -> None:
    layout = units.Layout(root=tmp_path / "root")
    actions = install.install_actions(two_gpu_plan(), layout, options(tarball, sha256="0" * 64), KIT)
    with pytest.raises(GitmlError, match="checksum mismatch"):
        install.apply(actions)
    assert not (tmp_path / "root/opt/gitml-runner/releases").exists()


def test_download_from_mirror_is_verified(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    tarball = fake_release(mirror / "v9.9.9" / "actions-runner-linux-x64-9.9.9.tar.gz")
    layout = units.Layout(root=tmp_path / "root")
    opts = options(tarball, tarball=None, download_base=mirror.as_uri())
    install.apply(install.install_actions(two_gpu_plan(), layout, opts, KIT))
    assert (tmp_path / "root/var/cache/gitml-runner/downloads/actions-runner-linux-x64-9.9.9.tar.gz").exists()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """Render with target paths inside tmp_path, so every path the units name exists."""
    t = str(tmp_path)
    user = getpass.getuser()
    layout = units.Layout(prefix=f"{t}/opt", state=f"{t}/state", etc=f"{t}/etc", cache=f"{t}/cache",
                          systemd=f"{t}/systemd", user=user, group=user)
    settings = units.RunnerSettings(scope_path="repos/acme/vision", url="https://github.com/acme/vision", gitml_bin=GITML_BIN)
    spec = two_gpu_plan().runners[0]
    for path in (layout.runner_dir(spec.name), layout.cache, layout.state, layout.etc, f"{t}/opt/bin", layout.systemd):
        Path(path).mkdir(parents=True, exist_ok=True)
    shutil.copy(KIT / "bin/gitml-runner-start", layout.start_script)
    Path(layout.env_file(spec.name)).write_text(units.render_env(units.runner_env(spec, layout, settings), "test"))
    Path(f"{t}/etc/gc.env").write_text(units.render_env({"A": "1"}, "test"))
    files = {layout.unit_file(spec.name): units.runner_unit(spec, layout, settings, KIT)}
    files.update({f"{layout.systemd}/{n}": text for n, text in units.gc_units(layout, settings, KIT).items()})
    for path, text in files.items():
        Path(path).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", *files], capture_output=True, text=True,
                            env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if "gitml" in line and "Failed to" not in line or "Unknown key" in line or "Invalid" in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_credentials_write_jit_config_and_start_script_runs_it(tmp_path: Path, github: GitHubStub, tarball: Path) -> None:
    github.add("POST", f"{RUNNERS}/generate-jitconfig", status=201,
               json={"runner": {"id": 1, "name": "box-gpu0"}, "encoded_jit_config": "SklUQ09ORklH"})
    runner_dir = tmp_path / "runner"
    from gitml.runners import download

    download.extract(tarball, runner_dir)
    token_file = tmp_path / "github-token"
    token_file.write_text("ghp_secret\n")
    env = {"GITML_RUNNER_NAME": "box-gpu0", "GITML_RUNNER_SCOPE": "repos/acme/vision", "GITML_RUNNER_DIR": str(runner_dir),
           "GITML_RUNNER_LABELS": "self-hosted,linux,gpu", "GITHUB_API_URL": github.url, "GITML_RUNNER_GROUP_ID": "1"}
    path = install.write_credentials(env, token_file=str(token_file))
    assert path.read_text() == "SklUQ09ORklH" and (path.stat().st_mode & 0o777) == 0o600
    assert github.calls[0].headers["authorization"] == "Bearer ghp_secret"
    log = tmp_path / "runner.log"
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "box-gpu0").write_text("{}")
    run = subprocess.run([str(KIT / "bin/gitml-runner-start")], env={**os.environ, **env, "FAKE_RUNNER_LOG": str(log),
                         "GITML_BUSY_DIR": str(busy)}, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert log.read_text() == "run.sh --jitconfig SklUQ09ORklH\n"
    assert not path.exists() and not (busy / "box-gpu0").exists()  # single use; stale busy marker cleared


def test_credentials_token_mode_and_backoff(tmp_path: Path, github: GitHubStub, tarball: Path) -> None:
    from gitml.runners import download

    runner_dir = download.extract(tarball, tmp_path / "runner")
    env = {"GITML_RUNNER_NAME": "box-gpu0", "GITML_RUNNER_SCOPE": "repos/acme/vision", "GITML_RUNNER_DIR": str(runner_dir),
           "GITML_RUNNER_LABELS": "self-hosted,gpu", "GITML_RUNNER_MODE": "token", "GITML_RUNNER_URL": "https://github.com/acme/vision"}
    client = GitHubClient("t", api_url=github.url, max_retries=0)
    github.error("POST", f"{RUNNERS}/registration-token", 401, "Bad credentials")
    github.add("POST", f"{RUNNERS}/registration-token", status=201, json={"token": "REGTOKEN"})
    waits: list[float] = []
    with pytest.raises(GitmlError, match="401"):
        install.write_credentials(env, client=client, sleep=waits.append)
    assert install.write_credentials(env, client=client, sleep=waits.append).read_text() == "REGTOKEN"
    assert waits == [10]  # one failure: back off 10 s before asking again
    log = tmp_path / "runner.log"
    run = subprocess.run([str(KIT / "bin/gitml-runner-start")], env={**os.environ, **env, "FAKE_RUNNER_LOG": str(log)},
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    config_line, run_line = log.read_text().splitlines()
    assert "--ephemeral" in config_line and "--token REGTOKEN" in config_line and "--labels self-hosted,gpu" in config_line
    assert run_line.strip() == "run.sh"


def test_start_script_without_credentials_fails_clearly(tmp_path: Path) -> None:
    env = {**os.environ, "GITML_RUNNER_DIR": str(tmp_path), "GITML_RUNNER_NAME": "x"}
    run = subprocess.run([str(KIT / "bin/gitml-runner-start")], env=env, capture_output=True, text=True)
    assert run.returncode == 1 and "gitml runner credentials" in run.stderr


def test_status_and_remove(tmp_path: Path, tarball: Path, github: GitHubStub, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    layout = units.Layout(root=root)
    install.apply(install.install_actions(two_gpu_plan(), layout, options(tarball), KIT))
    github.add("GET", RUNNERS, json={"total_count": 1, "runners": [
        {"id": 11, "name": "box-gpu0-3", "status": "online", "busy": True, "labels": [{"name": "gpu"}]}]})
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("GITML_RUNNER_TOKEN", "ghp_admin")
    result = CliRunner().invoke(cli, ["runner", "status", "--root", str(root), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by_name = {r["name"]: r for r in data["runners"]}
    assert by_name["box-gpu0-3"]["github"]["busy"] is True
    assert "not registered" in by_name["box-gpu4-7"]["github"]["status"]
    assert "ghp_admin" not in result.output

    github.add("DELETE", f"{RUNNERS}/11", status=204)
    result = CliRunner().invoke(cli, ["runner", "remove", "box-gpu0-3", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert github.calls_to("DELETE", f"{RUNNERS}/11")
    assert not (root / "etc/systemd/system/gitml-runner-box-gpu0-3.service").exists()
    assert not (root / "var/lib/gitml-runner/runners/box-gpu0-3").exists()
    assert (root / "etc/systemd/system/gitml-runner-box-gpu4-7.service").exists()
    result = CliRunner().invoke(cli, ["runner", "remove", "--all", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert not (root / "etc/gitml-runner/runners.json").exists()
    assert not (root / "etc/systemd/system/gitml-cache-gc.timer").exists()
    assert (root / "var/cache/gitml-runner/dvc").is_dir()  # caches stay without --purge-cache
    with pytest.raises(GitmlError, match="no runners installed"):
        install.status(layout, None)


def test_remove_unknown_runner(tmp_path: Path, tarball: Path) -> None:
    layout = units.Layout(root=tmp_path / "root")
    install.apply(install.install_actions(two_gpu_plan(), layout, options(tarball), KIT))
    with pytest.raises(GitmlError, match="no installed runner named nope"):
        install.remove_actions(layout, ["nope"], None)


def test_env_file_round_trip_and_quoting() -> None:
    text = units.render_env({"A": 'say "hi"', "B": "", "C": "x\\y"}, "header")
    assert units.parse_env(text) == {"A": 'say "hi"', "B": "", "C": "x\\y"}
    with pytest.raises(GitmlError):
        units.render_env({"A": "two\nlines"}, "h")
    with pytest.raises(GitmlError):
        units.render_template("@NOPE@", {}, "t")
