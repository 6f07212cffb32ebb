"""The `/experiment` command and the `key=value` override grammar.

    /experiment train.random_forest.n_estimators=300 featurize.scaler=robust
    /experiment train.random_forest.max_depth=4,8,16 train.hist_gradient_boosting.learning_rate=0.05,0.1
    /experiment promote issue-12-3
    /experiment cancel
    /experiment help

An override is `KEY=VALUE`: KEY is a dotted path into params.yaml (`train.random_forest.max_depth`);
VALUE is a YAML 1.2 scalar or flow collection: `0.1` is a float, `300` an int, `true`/`false`
booleans, `null` none, `'8'` or `"a b"` strings, `[1, 2]` a list, `{a: 1}` a mapping. A comma
outside quotes and brackets makes a grid axis: `max_depth=4,8,16` tries three values. Tokens are
separated by whitespace (spaces or new lines) outside quotes and brackets.

YAML 1.2, not PyYAML's default 1.1: `yes`, `on`, `010`, `1:20` and dates stay strings or plain
decimal numbers, so a value means what it looks like. `inf` and `nan` are refused (not valid JSON).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

from gitml.errors import GitmlError

COMMAND = "/experiment"
ACTIONS = ("run", "promote", "cancel", "help")
KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*)*")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
USAGE = (
    "`/experiment KEY=VALUE ...` (a comma list such as `KEY=1,2,3` is a grid axis), "
    "`/experiment promote NAME`, `/experiment cancel`, `/experiment help`"
)
_CLOSE = {"[": "]", "{": "}"}


class OverrideError(GitmlError):
    """The command or an override is malformed; the message says where and how to fix it."""


# -- YAML 1.2 core schema scalars ---------------------------------------------


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's implicit types only: null, bool, int, float, str."""


_Yaml12Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     list("-+0123456789.")),
):
    _Yaml12Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_regexp), _first)


def _int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)


def _float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    text = str(loader.construct_scalar(node)).lower()  # type: ignore[arg-type]
    if text.endswith(".inf"):
        return -math.inf if text.startswith("-") else math.inf
    if text == ".nan":
        return math.nan
    return float(text)


def _bool(loader: yaml.SafeLoader, node: yaml.Node) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"  # type: ignore[arg-type]


_Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:float", _float)
_Yaml12Loader.add_constructor("tag:yaml.org,2002:bool", _bool)


def load_yaml(text: str) -> Any:
    """Parse YAML text with the YAML 1.2 core schema (a GitmlError on bad syntax)."""
    try:
        return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise OverrideError(f"not valid YAML: {' '.join(str(exc).split())}") from exc


def _check_finite(value: Any, where: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise OverrideError(f"{where}: {value} is not allowed", hint="params must be finite numbers")
    if isinstance(value, list):
        for item in value:
            _check_finite(item, where)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise OverrideError(f"{where}: mapping key {key!r} must be a string")
            _check_finite(item, where)
    return value


def parse_value(text: str, *, where: str = "value") -> Any:
    """One value: a YAML 1.2 scalar, or a flow list/mapping. Empty text, comments and YAML tags are errors."""
    stripped = text.strip()
    if not stripped:
        raise OverrideError(f"{where}: the value is empty", hint="write a value, or `null` for none")
    if stripped[0] in "#!&*|>%@`":
        raise OverrideError(f"{where}: {stripped!r} is not a plain value", hint="quote it: 'text'")
    value = load_yaml(stripped)
    return _check_finite(value, where)


# -- splitting outside quotes and brackets ------------------------------------


def _scan(text: str, is_sep: Any, *, what: str) -> list[str]:
    """Split text at characters where is_sep(ch) is true, outside quotes and brackets."""
    parts, current = [], []
    quote: str | None = None
    stack: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            current.append(ch)
            if quote == '"' and ch == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            current.append(ch)
        elif ch in _CLOSE:
            stack.append(_CLOSE[ch])
            current.append(ch)
        elif ch in "]}":
            if not stack or stack.pop() != ch:
                raise OverrideError(f"unbalanced {ch!r} in {what} {text.strip()!r}", hint="check the brackets")
            current.append(ch)
        elif not stack and is_sep(ch):
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if quote:
        raise OverrideError(f"unterminated {quote} quote in {what} {text.strip()!r}", hint="close the quote")
    if stack:
        raise OverrideError(f"unclosed {stack[-1]!r} in {what} {text.strip()!r}", hint="close the bracket")
    parts.append("".join(current))
    return parts


def tokenize(text: str) -> list[str]:
    """Whitespace-separated tokens; quotes and brackets keep their spaces."""
    return [t for t in _scan(text, str.isspace, what="the command") if t]


def split_grid(text: str) -> list[str]:
    """A value's grid values: split at commas outside quotes and brackets."""
    return _scan(text, lambda ch: ch == ",", what="the value")


# -- overrides ----------------------------------------------------------------


@dataclass(frozen=True)
class Override:
    """KEY=VALUE, or KEY=V1,V2,... (a grid axis, several values)."""

    key: str
    values: tuple[Any, ...]

    @property
    def is_axis(self) -> bool:
        return len(self.values) > 1

    def __str__(self) -> str:
        return f"{self.key}={','.join(format_value(v) for v in self.values)}"


def check_key(key: str, where: str = "override") -> str:
    if not KEY.fullmatch(key):
        raise OverrideError(f"{where}: {key!r} is not a param key",
                            hint="use a dotted path into params.yaml, e.g. train.random_forest.max_depth")
    return key


def parse_override(token: str) -> Override:
    """`KEY=VALUE` or `KEY=V1,V2` (an axis)."""
    key, eq, raw = token.partition("=")
    if not eq:
        raise OverrideError(f"{token!r} is not KEY=VALUE", hint=f"write e.g. train.random_forest.max_depth=8; {USAGE}")
    key = check_key(key.strip(), f"override {token!r}")
    parts = split_grid(raw)
    values = tuple(parse_value(p, where=f"{key}") for p in parts)
    if len(values) > 1 and len({_canon(v) for v in values}) < len(values):
        raise OverrideError(f"{key}: a value is repeated in {raw!r}", hint="list each grid value once")
    return Override(key, values)


def _canon(value: Any) -> str:
    return repr((type(value).__name__, value if not isinstance(value, (list, dict)) else format_value(value)))


def _is_key_value_text(text: str) -> bool:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    return all(re.match(r"^[A-Za-z_][\w.-]*\s*=", ln) for ln in lines)


def parse_overrides(text: str, *, grid: bool = True) -> list[Override]:
    """Overrides from free text: `KEY=VALUE` tokens (lines or spaces), or a YAML mapping (nested keys allowed).

    `KEY=A,B` is an axis either way. In a YAML mapping a list is one value, except with grid=True
    (the issue form's grid field), where it lists the values to try.
    """
    if not text.strip():
        return []
    if _is_key_value_text(text):
        lines = [ln for ln in text.splitlines() if not ln.strip().startswith("#")]
        found = [parse_override(t) for ln in lines for t in tokenize(ln)]
    else:
        data = load_yaml(text)
        if not isinstance(data, dict):
            raise OverrideError(f"overrides must be KEY=VALUE lines or a YAML mapping, not {text.strip()[:60]!r}",
                                hint="write one key=value a line, e.g. train.random_forest.max_depth=8")
        found = []
        for key, value in _flatten(data):
            check_key(key, "YAML overrides")
            values = tuple(value) if (grid and isinstance(value, list)) else (value,)
            if not values:
                raise OverrideError(f"{key}: the grid list is empty", hint="give at least one value")
            found.append(Override(key, tuple(_check_finite(v, key) for v in values)))
    return found


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.extend(_flatten(value, name))
        else:
            out.append((name, value))
    return out


def format_value(value: Any, *, flow: bool = False) -> str:
    """A value as the user would write it (YAML flow style, one line); strings are quoted unless plainly safe."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value if _plain(value, flow=flow) else "'" + value.replace("'", "''") + "'"
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v, flow=True) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{format_value(str(k), flow=True)}: {format_value(v, flow=True)}"
                               for k, v in value.items()) + "}"
    raise OverrideError(f"cannot write {value!r} as a param value")


def _plain(text: str, *, flow: bool = False) -> bool:
    """Can this string be written unquoted (inside [ ] or { } when flow) and read back as the same string?"""
    if flow and not re.fullmatch(r"[A-Za-z_][\w.-]*", text):
        return False
    if not text or text[0] in "#!&*|>%@`-?" or any(c in text for c in ",:#[]{}'\"\\") or any(c.isspace() for c in text):
        return False
    try:
        return load_yaml(text) == text
    except OverrideError:
        return False


# -- Hydra (dvc exp run -S) ---------------------------------------------------


def hydra_value(value: Any) -> str:
    """A value in Hydra's override grammar, which `dvc exp run -S KEY=VALUE` parses.

    Strings are always quoted, so `'8'` stays a string and `a,b` never becomes a sweep. Inside
    Hydra's quotes only backslashes before a quote (or at the end) need doubling, and `${` would
    be an interpolation: it is escaped as `\\${`.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return "'" + _hydra_escape(value) + "'"
    if isinstance(value, list):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(k)):
                raise OverrideError(f"mapping key {k!r} cannot be passed to dvc -S", hint="use dotted keys instead")
            items.append(f"{k}:{hydra_value(v)}")
        return "{" + ",".join(items) + "}"
    raise OverrideError(f"cannot pass {value!r} to dvc -S")


def _hydra_escape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\":
            j = i
            while j < len(text) and text[j] == "\\":
                j += 1
            run = text[i:j]
            # backslashes before a quote, `${` or the end are escapes in Hydra's grammar: double them
            follows = text[j:j + 2]
            out.append(run * 2 if (j == len(text) or follows[:1] == "'" or follows == "${") else run)
            i = j
            continue
        if text[i] == "'":
            out.append("\\'")
        elif text.startswith("${", i):
            out.append("\\$")
            i += 1
            continue
        else:
            out.append(text[i])
        i += 1
    return "".join(out)


# -- the command --------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    action: str  # run | promote | cancel | help
    overrides: tuple[Override, ...] = ()
    name: str | None = None  # promote: the experiment
    base: str | None = None  # run: --base=REF

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "overrides": [str(o) for o in self.overrides], "name": self.name,
                "base": self.base}


def command_line(body: str | None) -> str | None:
    """The text after `/experiment` on the comment's first line that starts with it, or None."""
    for line in (body or "").splitlines():
        stripped = line.strip()
        if stripped == COMMAND or stripped.startswith(COMMAND + " ") or stripped.startswith(COMMAND + "\t"):
            return stripped[len(COMMAND):].strip()
    return None


def parse_command(body: str | None) -> Command | None:
    """The `/experiment` command in a comment, or None when the comment holds none."""
    rest = command_line(body)
    if rest is None:
        return None
    tokens = tokenize(rest)
    if not tokens:
        return Command("run")  # the issue form's experiment, again
    head = tokens[0].lower()
    if head in ("cancel", "help"):
        if len(tokens) > 1:
            raise OverrideError(f"`/experiment {head}` takes no arguments", hint=USAGE)
        return Command(head)
    if head == "promote":
        if len(tokens) != 2 or not NAME.fullmatch(tokens[1]):
            raise OverrideError("`/experiment promote` needs one experiment name, e.g. issue-12-3", hint=USAGE)
        return Command("promote", name=tokens[1])
    if head == "run":
        tokens = tokens[1:]
    base = None
    overrides = []
    for token in tokens:
        if token.startswith("--base="):
            base = check_ref(token[len("--base="):])
        elif token.startswith("-"):
            raise OverrideError(f"unknown option {token!r}", hint="the only option is --base=BRANCH")
        else:
            overrides.append(parse_override(token))
    return Command("run", tuple(overrides), base=base)


_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")


def check_ref(ref: str) -> str:
    """A branch or tag name of this repository. Pull-request refs and commit ids are refused:
    GitHub serves a fork's commits from the parent repository, and they must never run on our runners."""
    ref = ref.strip().removeprefix("refs/heads/")
    if (not _REF.fullmatch(ref) or ".." in ref or ref.endswith((".lock", "/", ".")) or "//" in ref
            or ref.startswith(("refs/", "pull/")) or re.fullmatch(r"[0-9a-fA-F]{7,40}", ref)):
        raise OverrideError(f"base {ref!r} is not a branch or tag name",
                            hint="name a branch or tag of this repository (pull-request refs and commit ids are refused)")
    return ref
