"""The plan: every variant named, its `dvc exp run -S` arguments built, and validated BEFORE anything runs.

Each variant's overrides are applied to params.yaml as it is at the base commit, and the result
is checked against the params JSON Schema at that commit (`gitml.params.validation_error`); the
first bad variant stops the whole plan, and its error is answered on the issue. Names are
`issue-N-K`, K counting on from the issue's experiments already in the Git remote, so a second
command on the same issue never clashes with the first.

The plan is a JSON file with a `version` field; the fan-out job reads it from the plan job's output.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitml import config as config_mod
from gitml.errors import GitmlError
from gitml.experiments import grammar, grid
from gitml.forge.gitauth import git_auth
from gitml.params import validation_error
from gitml.proc import git, run
from gitml.report.revision import Revision

PLAN_VERSION = 1
_MISSING = object()


@dataclass(frozen=True)
class Variant:
    name: str  # issue-N-K
    index: int  # K
    overrides: dict[str, Any]  # dotted key -> value
    set_args: tuple[str, ...]  # the `-S` arguments for dvc exp run

    @property
    def description(self) -> str:
        return grid.describe(self.overrides)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "index": self.index, "overrides": self.overrides, "set_args": list(self.set_args)}


@dataclass
class Plan:
    issue: int
    base: str  # the branch or tag
    base_sha: str
    variants: list[Variant]
    primary_metric: str
    hypothesis: str = ""
    command: str = ""
    params_file: str = "params.yaml"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variants]

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise GitmlError(f"the plan has no variant {name!r}", hint=f"its variants: {', '.join(self.names)}")

    def matrix(self) -> dict[str, Any]:
        """The fan-out job's strategy.matrix: one entry per variant, by name only (the job reads the rest from the plan)."""
        return {"name": self.names}

    def as_dict(self) -> dict[str, Any]:
        return {"version": PLAN_VERSION, "issue": self.issue, "base": self.base, "base_sha": self.base_sha,
                "primary_metric": self.primary_metric, "hypothesis": self.hypothesis, "command": self.command,
                "params_file": self.params_file, "variants": [v.as_dict() for v in self.variants], **self.extra}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))


def plan_from_dict(data: Any) -> Plan:
    if not isinstance(data, dict) or data.get("version") != PLAN_VERSION:
        got = data.get("version") if isinstance(data, dict) else type(data).__name__
        raise GitmlError(f"not an experiment plan of version {PLAN_VERSION} (got {got!r})",
                         hint="pass the plan job's output (gitml ci experiment plan)")
    known = {"version", "issue", "base", "base_sha", "primary_metric", "hypothesis", "command", "params_file", "variants"}
    return Plan(
        issue=int(data["issue"]), base=str(data["base"]), base_sha=str(data["base_sha"]),
        variants=[Variant(str(v["name"]), int(v["index"]), dict(v["overrides"]), tuple(v["set_args"]))
                  for v in data["variants"]],
        primary_metric=str(data["primary_metric"]), hypothesis=str(data.get("hypothesis") or ""),
        command=str(data.get("command") or ""), params_file=str(data.get("params_file") or "params.yaml"),
        extra={k: v for k, v in data.items() if k not in known},
    )


def load_plan(source: str) -> Plan:
    """A plan from JSON text, or from a file when source is a path."""
    text = source
    if not source.lstrip().startswith("{"):
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise GitmlError(f"cannot read the plan {source}: {exc}") from exc
    try:
        return plan_from_dict(json.loads(text))
    except json.JSONDecodeError as exc:
        raise GitmlError(f"the plan is not valid JSON: {exc}") from exc


# -- params -------------------------------------------------------------------


def apply_override(data: dict[str, Any], key: str, value: Any) -> None:
    """Set a dotted key in nested params, creating missing sections (the schema then judges them)."""
    node = data
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        child = node.get(part, _MISSING)
        if child is _MISSING or child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            where = ".".join(parts[: i + 1])
            raise grammar.OverrideError(f"{key}: {where} is a value ({grammar.format_value(child)}), not a section",
                                        hint=f"set {where} itself")
        node = child
    node[parts[-1]] = copy.deepcopy(value)


def has_key(data: Any, key: str) -> bool:
    node = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def set_arg(params: dict[str, Any], key: str, value: Any, params_file: str = "params.yaml") -> str:
    """The `-S` argument: Hydra's `KEY=VALUE` for a key params.yaml has, `+KEY=VALUE` to add one."""
    prefix = "" if params_file == "params.yaml" else f"{params_file}:"
    plus = "" if has_key(params, key) else "+"
    return f"{prefix}{plus}{key}={grammar.hydra_value(value)}"


def validate_variant(params: dict[str, Any], schema: dict[str, Any] | None, overrides: dict[str, Any],
                     source: str) -> dict[str, Any]:
    """The params a variant runs with; the schema's first complaint as a GitmlError naming the variant."""
    data = copy.deepcopy(params)
    for key, value in overrides.items():
        apply_override(data, key, value)
    if schema is not None:
        err = validation_error(data, schema, source)
        if err is not None:
            raise err
    return data


# -- the base and the names ---------------------------------------------------


def resolve_base(root: str | Path, base: str) -> str:
    """The commit of a branch or tag (the remote's branch first); never an arbitrary revision."""
    grammar.check_ref(base)
    for ref in (f"refs/remotes/origin/{base}", f"refs/tags/{base}", f"refs/heads/{base}"):
        sha = git("rev-parse", "--verify", "-q", f"{ref}^{{commit}}", cwd=root, check=False)
        if sha:
            return sha
    raise GitmlError(f"base {base!r} is not a branch or tag of this repository",
                     hint="name an existing branch or tag (the checkout needs fetch-depth: 0 to see them all)")


def existing_indexes(root: str | Path, issue: int, *, remote: str | None = "origin",
                     env: dict[str, str] | None = None) -> set[int]:
    """K of every `issue-N-K` experiment in the local repository and, when reachable, the Git remote."""
    pattern = re.compile(rf"/issue-{issue}-(\d+)$")
    refs = git("for-each-ref", "--format=%(refname)", "refs/exps", cwd=root, check=False).splitlines()
    if remote and git("remote", "get-url", remote, cwd=root, check=False):
        with git_auth(env) as auth_env:
            proc = run(["git", "ls-remote", "--refs", remote, "refs/exps/*"], cwd=root, check=False, env=auth_env)
        if proc.returncode != 0:
            raise GitmlError(f"cannot list the experiments in the Git remote {remote!r}: "
                             f"{(proc.stdout or '').strip().splitlines()[-1:] or ['no output']}",
                             hint="the job needs contents: read and GITHUB_TOKEN")
        refs += [line.split()[-1] for line in (proc.stdout or "").splitlines() if line.strip()]
    return {int(m.group(1)) for ref in refs if (m := pattern.search(ref))}


def primary_metric(cfg: config_mod.Config) -> str:
    if cfg.experiment.primary_metric:
        return cfg.experiment.primary_metric
    if cfg.gate.metrics:
        return next(iter(cfg.gate.metrics))
    raise GitmlError("no primary metric to pick the best experiment by",
                     hint='set [tool.gitml.experiment].primary_metric = "NAME" in pyproject.toml')


def make_plan(root: str | Path, issue: int, overrides: list[grammar.Override] | tuple[grammar.Override, ...], *,
              base: str, base_sha: str | None = None, hypothesis: str = "", command: str = "",
              start: int | None = None, remote: str | None = "origin", cfg: config_mod.Config | None = None,
              env: dict[str, str] | None = None) -> Plan:
    """Expand, name and validate every variant against the params and schema at the base commit."""
    cfg = cfg or config_mod.load(root)
    root = cfg.root
    if not overrides:
        raise grammar.OverrideError("no param overrides given", hint=f"usage: {grammar.USAGE}")
    variants_params = grid.expand(list(overrides), cfg.experiment.max_variants)
    sha = base_sha or resolve_base(root, base)
    at_base = Revision(root, sha)
    params_file = cfg.params.as_posix()
    params = at_base.yaml(params_file)
    if not isinstance(params, dict):
        raise GitmlError(f"{params_file} at {base} ({sha[:8]}) is missing or not a mapping")
    schema = None
    if cfg.params_schema is not None:
        text = at_base.read_tracked(cfg.params_schema.as_posix())
        if text is None:
            raise GitmlError(f"the params schema {cfg.params_schema} is not in {base} ({sha[:8]})",
                             hint="commit it, or fix [tool.gitml].params_schema")
        try:
            schema = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GitmlError(f"the params schema {cfg.params_schema} at {base} is not valid JSON: {exc}") from exc
    first = start if start is not None else max(existing_indexes(root, issue, remote=remote, env=env), default=0) + 1
    variants = []
    for offset, values in enumerate(variants_params):
        index = first + offset
        name = f"issue-{issue}-{index}"
        validate_variant(params, schema, values, f"variant {name} ({grid.describe(values)})")
        variants.append(Variant(name, index, values,
                                tuple(set_arg(params, k, v, params_file) for k, v in values.items())))
    return Plan(issue, base, sha, variants, primary_metric(cfg), hypothesis, command, params_file)
