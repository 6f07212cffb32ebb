"""The files a runner machine needs: layout, per-runner env files, systemd units and the GC timer.

Templates live in the kit directory (`runner/` of a gitml checkout, or
GITML_RUNNER_KIT); `@KEY@` placeholders are filled here. Every path written is
under `Layout.root`, so tests (and packagers) install into a temporary tree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitml.errors import GitmlError
from gitml.runners.plan import RunnerSpec

UNIT_PREFIX = "gitml-runner-"
GC_SERVICE = "gitml-cache-gc.service"
GC_TIMER = "gitml-cache-gc.timer"
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def kit_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The runner kit: --kit-dir, $GITML_RUNNER_KIT, or runner/ of the checkout gitml runs from."""
    candidates = [explicit, os.environ.get("GITML_RUNNER_KIT"), Path(__file__).resolve().parents[3] / "runner"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "systemd" / "gitml-runner.service.in").is_file():
            return Path(candidate)
    raise GitmlError(
        "the runner kit (runner/ with systemd/gitml-runner.service.in) was not found",
        hint="run from a gitml checkout, or pass --kit-dir PATH/TO/gitml/runner (or set GITML_RUNNER_KIT)",
    )


@dataclass(frozen=True)
class Layout:
    """Where everything goes on the runner machine. Paths are absolute on the target; `root` prefixes writes."""

    root: Path = Path("/")
    prefix: str = "/opt/gitml-runner"
    state: str = "/var/lib/gitml-runner"
    etc: str = "/etc/gitml-runner"
    cache: str = "/var/cache/gitml-runner"
    systemd: str = "/etc/systemd/system"
    user: str = "gitml-runner"
    group: str = "gitml-runner"
    extra: dict[str, str] = field(default_factory=dict)

    def on_disk(self, path: str | os.PathLike[str]) -> Path:
        """The path under `root` where the file for target path `path` is written."""
        return self.root / str(path).lstrip("/")

    # target-system paths ------------------------------------------------------
    def release_dir(self, version: str) -> str:
        return f"{self.prefix}/releases/{version}"

    def runner_dir(self, name: str) -> str:
        return f"{self.state}/runners/{name}"

    def env_file(self, name: str) -> str:
        return f"{self.etc}/{name}.env"

    def unit_name(self, name: str) -> str:
        return f"{UNIT_PREFIX}{name}.service"

    def unit_file(self, name: str) -> str:
        return f"{self.systemd}/{self.unit_name(name)}"

    @property
    def manifest(self) -> str:
        return f"{self.etc}/runners.json"

    @property
    def token_file(self) -> str:
        return f"{self.etc}/github-token"

    @property
    def dvc_config_dir(self) -> str:
        return f"{self.etc}/dvc"

    @property
    def dvc_cache(self) -> str:
        return f"{self.cache}/dvc"

    @property
    def pip_cache(self) -> str:
        return f"{self.cache}/pip"

    @property
    def busy_dir(self) -> str:
        return f"{self.cache}/busy"

    @property
    def downloads(self) -> str:
        return f"{self.cache}/downloads"

    @property
    def gc_workdir(self) -> str:
        return f"{self.state}/gc"

    @property
    def hooks(self) -> dict[str, str]:
        return {"started": f"{self.prefix}/hooks/job-started.sh", "completed": f"{self.prefix}/hooks/job-completed.sh"}

    @property
    def start_script(self) -> str:
        return f"{self.prefix}/bin/gitml-runner-start"


def render_template(text: str, values: Mapping[str, str], source: str = "template") -> str:
    missing = sorted({m for m in _PLACEHOLDER.findall(text) if m not in values})
    if missing:
        raise GitmlError(f"{source} uses unknown placeholder(s) {', '.join('@' + m + '@' for m in missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def _quote(value: str) -> str:
    if "\n" in value:
        raise GitmlError(f"environment value {value[:40]!r}... spans lines", hint="values in env files must be one line")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_env(values: Mapping[str, str], header: str) -> str:
    """A systemd EnvironmentFile: KEY="value" lines, sorted, with a comment header."""
    for key in values:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            raise GitmlError(f"invalid environment variable name {key!r}")
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"{key}={_quote(str(value))}" for key, value in sorted(values.items())]
    return "\n".join(lines) + "\n"


def parse_env(text: str) -> dict[str, str]:
    """Read back an env file written by render_env."""
    values = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, raw = line.partition("=")
        raw = raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r'\\(["\\])', r"\1", raw[1:-1])
        values[key.strip()] = raw
    return values


@dataclass(frozen=True)
class RunnerSettings:
    """What every runner of one install shares."""

    scope_path: str  # "repos/OWNER/REPO" or "orgs/ORG"
    url: str  # https://github.com/OWNER/REPO, for config.sh
    mode: str = "jit"  # "jit" or "token"
    runner_group_id: int = 1
    api_url: str = "https://api.github.com"
    gitml_bin: str = "/usr/local/bin/gitml"
    approval_label: str = "safe-to-train"


def runner_env(spec: RunnerSpec, layout: Layout, settings: RunnerSettings) -> dict[str, str]:
    """Everything one runner's service (and through it each job) sees."""
    env = {
        "GITML_RUNNER_NAME": spec.name,
        "GITML_RUNNER_LABELS": ",".join(spec.labels),
        "GITML_RUNNER_SCOPE": settings.scope_path,
        "GITML_RUNNER_URL": settings.url,
        "GITML_RUNNER_MODE": settings.mode,
        "GITML_RUNNER_GROUP_ID": str(settings.runner_group_id),
        "GITML_RUNNER_DIR": layout.runner_dir(spec.name),
        "GITML_RUNNER_USER": layout.user,
        "GITML_BIN": settings.gitml_bin,
        "GITML_BUSY_DIR": layout.busy_dir,
        "GITML_APPROVAL_LABEL": settings.approval_label,
        "GITML_CACHE_DIRS": f"{layout.dvc_cache}:{layout.pip_cache}",
        "GITHUB_API_URL": settings.api_url,
        "DVC_GLOBAL_CONFIG_DIR": layout.dvc_config_dir,
        "PIP_CACHE_DIR": layout.pip_cache,
        "ACTIONS_RUNNER_HOOK_JOB_STARTED": layout.hooks["started"],
        "ACTIONS_RUNNER_HOOK_JOB_COMPLETED": layout.hooks["completed"],
    }
    env.update(spec.env)
    env.update(layout.extra)
    return env


def _template(kit: Path, name: str) -> str:
    path = kit / "systemd" / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GitmlError(f"cannot read unit template {path}: {exc}", hint="check --kit-dir") from exc


def runner_unit(spec: RunnerSpec, layout: Layout, settings: RunnerSettings, kit: Path) -> str:
    pinned = ",".join(spec.devices) if spec.devices else "no GPU"
    values = {
        "NAME": spec.name,
        "DEVICES": pinned,
        "USER": layout.user,
        "GROUP": layout.group,
        "ENV_FILE": layout.env_file(spec.name),
        "RUNNER_DIR": layout.runner_dir(spec.name),
        "CACHE_DIR": layout.cache,
        "GITML_BIN": settings.gitml_bin,
        "TOKEN_FILE": layout.token_file,
        "START_SCRIPT": layout.start_script,
    }
    return render_template(_template(kit, "gitml-runner.service.in"), values, "gitml-runner.service.in")


def gc_env(layout: Layout, repo: str, repo_url: str, branch: str, api_url: str) -> dict[str, str]:
    return {
        "GITML_GC_REPO": repo,
        "GITML_GC_REPO_URL": repo_url,
        "GITML_GC_BRANCH": branch,
        "GITML_GC_WORKDIR": layout.gc_workdir,
        "GITML_BUSY_DIR": layout.busy_dir,
        "GITHUB_API_URL": api_url,
        "DVC_GLOBAL_CONFIG_DIR": layout.dvc_config_dir,
    }


def gc_units(layout: Layout, settings: RunnerSettings, kit: Path, schedule: str = "daily") -> dict[str, str]:
    values = {
        "USER": layout.user,
        "GROUP": layout.group,
        "ENV_FILE": f"{layout.etc}/gc.env",
        "GITML_BIN": settings.gitml_bin,
        "CACHE_DIR": layout.cache,
        "STATE_DIR": layout.state,
        "SCHEDULE": schedule,
    }
    return {
        GC_SERVICE: render_template(_template(kit, f"{GC_SERVICE}.in"), values, f"{GC_SERVICE}.in"),
        GC_TIMER: render_template(_template(kit, f"{GC_TIMER}.in"), values, f"{GC_TIMER}.in"),
    }
