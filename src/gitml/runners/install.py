"""Install, inspect and remove the runners of one machine.

`install_actions` turns a plan into a list of `Action`s (print them with
--dry-run, or apply them). Nothing touches the live system unless the layout's
root is "/": under any other root the files are written there and the user,
chown and systemctl steps are reported as skipped.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml.errors import GitmlError
from gitml.fsutil import read_json, write_json_atomic, write_text_atomic
from gitml.forge.github import GitHubClient, GitHubError
from gitml.runners import cache, download, units
from gitml.runners.github_api import RunnersAPI, Scope, client_from_env, summarize
from gitml.runners.plan import Plan, RunnerSpec

MANIFEST_VERSION = 1
JIT_FILE = ".gitml-jitconfig"
REGTOKEN_FILE = ".gitml-regtoken"
FAILURES_FILE = ".gitml-failures"


@dataclass
class Action:
    description: str
    run: Callable[[], None] | None = None  # None: reported only (skipped off the live system)

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.description, "skipped": self.run is None}


def live(layout: units.Layout) -> bool:
    """True when installing onto this machine itself (root "/")."""
    return layout.root.resolve() == Path("/")


def gitml_executable() -> str:
    """The gitml command the units call: next to this Python (a venv), or on PATH."""
    here = Path(sys.executable).parent / "gitml"
    if here.exists():
        return str(here)
    found = shutil.which("gitml")
    if not found:
        raise GitmlError("cannot find the gitml executable", hint="install gitml (pip install gitml) or pass --gitml-bin")
    return found


def _systemctl(*args: str) -> None:
    _run_checked(["systemctl", *args])


def _user_exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def link_tree(src: Path, dst: Path) -> None:
    """Copy a directory tree with hardlinked files (one copy on disk however many runners)."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in [*filenames, *(d for d in dirnames if (Path(dirpath) / d).is_symlink())]:
            source, target = Path(dirpath) / name, dst / rel / name
            if target.exists() or target.is_symlink():
                continue
            if source.is_symlink():
                target.symlink_to(os.readlink(source))
            else:
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copy2(source, target)


def _chown_dirs(path: Path, user: str, group: str) -> None:
    """Give the runner user its directories; files stay root's (shared, read-only hardlinks)."""
    for dirpath, _dirs, _files in os.walk(path):
        shutil.chown(dirpath, user=user, group=group)


@dataclass
class InstallOptions:
    scope: Scope
    mode: str = "jit"
    runner_version: str = download.DEFAULT_RUNNER_VERSION
    platform: str = "linux-x64"
    sha256: str | None = None
    tarball: str | None = None  # a tarball already downloaded
    download_base: str = download.DOWNLOAD_BASE
    server_url: str = "https://github.com"
    api_url: str = "https://api.github.com"
    runner_group_id: int = 1
    gitml_bin: str = ""
    approval_label: str = "safe-to-train"
    cache_types: tuple[str, ...] = cache.DEFAULT_CACHE_TYPES
    gc_repo: str | None = None  # OWNER/REPO whose refs the cache GC keeps
    gc_branch: str = "main"
    gc_schedule: str = "daily"
    start: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)


def install_actions(
    plan: Plan, layout: units.Layout, opts: InstallOptions, kit: Path, client: GitHubClient | None = None
) -> list[Action]:
    if opts.mode not in ("jit", "token"):
        raise GitmlError(f"--mode {opts.mode!r} is neither jit nor token")
    if not plan.runners:
        raise GitmlError("the plan has no runner", hint="check `gitml runner plan`; use --cpu-runners 1 on a machine without GPU")
    on_live = live(layout)
    settings = units.RunnerSettings(
        scope_path=opts.scope.api_path,
        url=opts.scope.html_url(opts.server_url),
        mode=opts.mode,
        runner_group_id=opts.runner_group_id,
        api_url=opts.api_url,
        gitml_bin=opts.gitml_bin or gitml_executable(),
        approval_label=opts.approval_label,
    )
    release = download.Release(download.check_version(opts.runner_version), opts.platform)
    sha = download.expected_sha256(release, opts.sha256, client)
    disk = layout.on_disk
    actions: list[Action] = []

    def add(description: str, run: Callable[[], None] | None) -> None:
        actions.append(Action(description, run))

    # 1. the unprivileged user every runner runs as
    if on_live and not _user_exists(layout.user):
        add(
            f"create system user {layout.user} (home {layout.state}, no login shell)",
            lambda: _run_checked(
                ["useradd", "--system", "--user-group", "--home-dir", layout.state, "--shell", "/usr/sbin/nologin", layout.user]
            ),
        )
    elif not on_live:
        add(f"create system user {layout.user} (skipped: --root is not /)", None)

    # 2. shared caches: DVC cache, pip cache, busy markers; DVC config pointing at the cache
    group = layout.group if on_live else None
    for target in (layout.dvc_cache, layout.pip_cache, layout.busy_dir, layout.downloads):
        add(f"create shared directory {target} (group-writable, setgid)", lambda t=target: cache.make_shared_dir(disk(t), group))
    add(
        f"write {layout.dvc_config_dir}/config (cache.dir {layout.dvc_cache}, shared group, type {','.join(opts.cache_types)})",
        lambda: cache.configure_machine(disk(layout.dvc_config_dir), layout.dvc_cache, opts.cache_types),
    )

    # 3. the runner release, verified, extracted once
    tarball = Path(opts.tarball) if opts.tarball else disk(f"{layout.downloads}/{release.filename}")
    if opts.tarball:
        add(f"verify {tarball} (sha256 {sha})", lambda: download.verify(tarball, sha))
    else:
        url = release.url(opts.download_base)
        add(f"download {url} and verify sha256 {sha}", lambda: download.fetch(url, tarball, sha))
    release_dir = layout.release_dir(release.version)
    add(f"extract the runner into {release_dir}", lambda: download.extract(tarball, disk(release_dir)))

    # 4. the kit's scripts: the start script and the job hooks
    scripts = {layout.start_script: kit / "bin" / "gitml-runner-start"}
    scripts.update({layout.hooks[k]: kit / "hooks" / f"job-{k}.sh" for k in ("started", "completed")})
    for target, source in scripts.items():
        add(f"install {target}", lambda t=target, s=source: _install_file(s, disk(t), 0o755))

    # 5. one runner directory, env file and unit per runner
    for spec in plan.runners:
        actions += _runner_actions(spec, layout, settings, opts, kit, release_dir, on_live)

    # 6. the cache GC timer
    if opts.gc_repo:
        gc_env = units.gc_env(
            layout, opts.gc_repo, f"{opts.server_url.rstrip('/')}/{opts.gc_repo}.git", opts.gc_branch, opts.api_url
        )
        header = "gitml cache GC settings, written by `gitml runner install`."
        add(f"write {layout.etc}/gc.env", lambda: write_text_atomic(disk(f"{layout.etc}/gc.env"), units.render_env(gc_env, header)))
        for name, text in units.gc_units(layout, settings, kit, opts.gc_schedule).items():
            add(f"write {layout.systemd}/{name}", lambda n=name, t=text: write_text_atomic(disk(f"{layout.systemd}/{n}"), t))

    # 7. the manifest that status and remove read
    manifest = make_manifest(plan, layout, settings, opts, release.version)
    add(f"write {layout.manifest}", lambda: write_json_atomic(disk(layout.manifest), manifest))

    # 8. systemd
    unit_names = [layout.unit_name(s.name) for s in plan.runners] + ([units.GC_TIMER] if opts.gc_repo else [])
    if on_live and opts.start:
        if not disk(layout.token_file).exists():
            raise GitmlError(
                f"{layout.token_file} does not exist: the units need it to register runners",
                hint=f"sudo install -m 600 /dev/stdin {layout.token_file} <<< \"$TOKEN\", or install with --no-start",
            )
        add("systemctl daemon-reload", lambda: _systemctl("daemon-reload"))
        add(f"systemctl enable --now {' '.join(unit_names)}", lambda: _systemctl("enable", "--now", *unit_names))
    else:
        why = "--no-start" if on_live else "--root is not /"
        add(f"systemctl daemon-reload; systemctl enable --now {' '.join(unit_names)} (skipped: {why})", None)
    return actions


def _runner_actions(
    spec: RunnerSpec,
    layout: units.Layout,
    settings: units.RunnerSettings,
    opts: InstallOptions,
    kit: Path,
    release_dir: str,
    on_live: bool,
) -> list[Action]:
    disk = layout.on_disk
    runner_dir = layout.runner_dir(spec.name)
    env = units.runner_env(spec, layout, settings)
    env.update(opts.extra_env)
    header = (
        f"gitml runner {spec.name}: environment of the service and of every job it runs.\n"
        "Written by `gitml runner install`; re-run it rather than editing by hand."
    )
    unit_text = units.runner_unit(spec, layout, settings, kit)

    def make_dir() -> None:
        link_tree(disk(release_dir), disk(runner_dir))
        (disk(runner_dir) / "_work").mkdir(exist_ok=True)
        if on_live:
            _chown_dirs(disk(runner_dir), layout.user, layout.group)

    return [
        Action(f"create runner directory {runner_dir} (hardlinked release)", make_dir),
        Action(f"write {layout.env_file(spec.name)}", lambda: write_text_atomic(disk(layout.env_file(spec.name)), units.render_env(env, header))),
        Action(f"write {layout.unit_file(spec.name)}", lambda: write_text_atomic(disk(layout.unit_file(spec.name)), unit_text)),
    ]


def _install_file(source: Path, target: Path, mode: int) -> None:
    write_text_atomic(target, source.read_text(encoding="utf-8"))
    target.chmod(mode)


def _run_checked(argv: list[str]) -> None:
    result = subprocess.run(argv, text=True, capture_output=True, check=False)
    if result.returncode != 0:
        raise GitmlError(
            f"`{' '.join(argv)}` failed: {(result.stderr or result.stdout).strip()}",
            hint="run gitml runner install/remove as root (sudo) on a machine managed by systemd",
        )


def make_manifest(
    plan: Plan, layout: units.Layout, settings: units.RunnerSettings, opts: InstallOptions, version: str
) -> dict[str, Any]:
    return {
        "version": MANIFEST_VERSION,
        "host": plan.host,
        "scope": settings.scope_path,
        "url": settings.url,
        "mode": settings.mode,
        "api_url": settings.api_url,
        "runner_version": version,
        "user": layout.user,
        "gc_repo": opts.gc_repo,
        "runners": [
            {
                **spec.as_dict(),
                "unit": layout.unit_name(spec.name),
                "env_file": layout.env_file(spec.name),
                "dir": layout.runner_dir(spec.name),
            }
            for spec in plan.runners
        ],
    }


def apply(actions: Sequence[Action]) -> list[str]:
    done = []
    for action in actions:
        if action.run is not None:
            action.run()
        done.append(action.description)
    return done


def read_manifest(layout: units.Layout) -> dict[str, Any]:
    path = layout.on_disk(layout.manifest)
    if not path.exists():
        raise GitmlError(f"no runners installed here ({layout.manifest} is missing)", hint="run `gitml runner install` first")
    data = read_json(path, invalid_hint="re-run `gitml runner install`")
    if data.get("version") != MANIFEST_VERSION:
        raise GitmlError(f"{path} has version {data.get('version')!r}, this gitml reads {MANIFEST_VERSION}", hint="re-run install")
    return data


# -- credentials (the unit's ExecStartPre) ------------------------------------


def _read_token(token_file: str | None) -> str | None:
    if not token_file:
        return None
    try:
        token = Path(token_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise GitmlError(f"cannot read the token file {token_file}: {exc.strerror}", hint="create it (mode 600, owned by root)") from exc
    if not token:
        raise GitmlError(f"the token file {token_file} is empty", hint="write the GitHub token into it")
    return token


def write_credentials(
    env: Mapping[str, str],
    *,
    token_file: str | None = None,
    client: GitHubClient | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Register the runner the env describes and leave its one-time credentials in its directory."""
    missing = [k for k in ("GITML_RUNNER_NAME", "GITML_RUNNER_SCOPE", "GITML_RUNNER_DIR", "GITML_RUNNER_LABELS") if not env.get(k)]
    if missing:
        raise GitmlError(f"{', '.join(missing)} not set", hint="run this from the runner's unit, which loads its env file")
    runner_dir = Path(env["GITML_RUNNER_DIR"])
    failures_file = runner_dir / FAILURES_FILE
    failures = int(failures_file.read_text().strip() or 0) if failures_file.exists() else 0
    if failures:
        sleep(min(5 * 2**failures, 300))  # back off when GitHub keeps refusing, instead of hammering the API
    try:
        api = RunnersAPI(client or client_from_env(_read_token(token_file), api_url=env.get("GITHUB_API_URL")), Scope.from_path(env["GITML_RUNNER_SCOPE"]))
        labels = [label for label in env["GITML_RUNNER_LABELS"].split(",") if label]
        if env.get("GITML_RUNNER_MODE", "jit") == "token":
            secret, target = api.registration_token(), runner_dir / REGTOKEN_FILE
        else:
            jit = api.generate_jitconfig(
                env["GITML_RUNNER_NAME"], labels, runner_group_id=int(env.get("GITML_RUNNER_GROUP_ID") or 1)
            )
            secret, target = jit.encoded, runner_dir / JIT_FILE
    except GitmlError:
        write_text_atomic(failures_file, f"{failures + 1}\n")
        raise
    failures_file.unlink(missing_ok=True)
    _write_secret(target, secret, env.get("GITML_RUNNER_USER"))
    return target


def _write_secret(path: Path, secret: str, user: str | None) -> None:
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    if user and os.geteuid() == 0:
        shutil.chown(path.with_suffix(".tmp"), user=user)
    os.replace(path.with_suffix(".tmp"), path)


# -- status and remove ----------------------------------------------------------


def unit_state(unit: str) -> str:
    if not shutil.which("systemctl"):
        return "unknown (no systemctl)"
    result = subprocess.run(
        ["systemctl", "show", "--property=ActiveState,SubState", "--value", unit], text=True, capture_output=True, check=False
    )
    parts = result.stdout.split()
    return "/".join(parts) if result.returncode == 0 and parts else "unknown"


def status(layout: units.Layout, client: GitHubClient | None) -> dict[str, Any]:
    """Each installed runner with its unit's state and GitHub's view (online, busy, labels)."""
    manifest = read_manifest(layout)
    on_live = live(layout)
    remote: dict[str, dict[str, Any]] = {}
    api_error = None
    if client is not None:
        try:
            api = RunnersAPI(client, Scope.from_path(manifest["scope"]))
            remote = {r["name"]: summarize(r) for r in api.list()}
        except GitHubError as exc:
            api_error = str(exc)
    runners = []
    for entry in manifest["runners"]:
        seen = remote.get(entry["name"])
        runners.append(
            {
                "name": entry["name"],
                "unit": entry["unit"],
                "unit_state": unit_state(entry["unit"]) if on_live else "not checked (--root is not /)",
                "devices": entry["devices"],
                "labels": entry["labels"],
                "github": seen or ({"status": "not registered (idle between jobs, or stopped)"} if client else None),
            }
        )
    return {
        "version": 1,
        "scope": manifest["scope"],
        "runner_version": manifest["runner_version"],
        "runners": runners,
        "api_error": api_error,
        "api_checked": client is not None,
    }


def remove_actions(
    layout: units.Layout, names: Sequence[str], client: GitHubClient | None, *, purge_cache: bool = False
) -> list[Action]:
    manifest = read_manifest(layout)
    installed = {r["name"]: r for r in manifest["runners"]}
    unknown = sorted(set(names) - set(installed))
    if unknown:
        raise GitmlError(f"no installed runner named {unknown[0]}", hint=f"installed: {', '.join(sorted(installed)) or 'none'}")
    chosen = [installed[n] for n in (names or sorted(installed))]
    on_live = live(layout)
    disk = layout.on_disk
    actions: list[Action] = []
    api = RunnersAPI(client, Scope.from_path(manifest["scope"])) if client else None
    for entry in chosen:
        unit = entry["unit"]
        if on_live and shutil.which("systemctl"):
            actions.append(Action(f"systemctl disable --now {unit}", lambda u=unit: _systemctl("disable", "--now", u)))
        else:
            actions.append(Action(f"systemctl disable --now {unit} (skipped: not the live system)", None))
        if api is not None:
            actions.append(Action(f"unregister {entry['name']} from GitHub", lambda n=entry["name"]: _unregister(api, n)))
        else:
            actions.append(Action(f"unregister {entry['name']} from GitHub (skipped: no token)", None))
        for path in (layout.unit_file(entry["name"]), entry["env_file"]):
            actions.append(Action(f"delete {path}", lambda p=path: disk(p).unlink(missing_ok=True)))
        actions.append(Action(f"delete {entry['dir']}", lambda d=entry["dir"]: shutil.rmtree(disk(d), ignore_errors=True)))
    remaining = [r for r in manifest["runners"] if r["name"] not in {e["name"] for e in chosen}]
    if remaining:
        manifest = {**manifest, "runners": remaining}
        actions.append(Action(f"update {layout.manifest}", lambda: write_json_atomic(disk(layout.manifest), manifest)))
    else:
        for name in (units.GC_TIMER, units.GC_SERVICE):
            if on_live and shutil.which("systemctl") and name == units.GC_TIMER and disk(f"{layout.systemd}/{name}").exists():
                actions.append(Action(f"systemctl disable --now {name}", lambda n=name: _systemctl("disable", "--now", n)))
            actions.append(Action(f"delete {layout.systemd}/{name}", lambda n=name: disk(f"{layout.systemd}/{n}").unlink(missing_ok=True)))
        actions.append(Action(f"delete {layout.manifest}", lambda: disk(layout.manifest).unlink(missing_ok=True)))
        if purge_cache:
            actions.append(Action(f"delete the shared caches {layout.cache}", lambda: shutil.rmtree(disk(layout.cache), ignore_errors=True)))
    if on_live and shutil.which("systemctl"):
        actions.append(Action("systemctl daemon-reload", lambda: _systemctl("daemon-reload")))
    return actions


def _unregister(api: RunnersAPI, name: str) -> None:
    runner = api.find(name)
    if runner is not None:
        api.delete(int(runner["id"]))
