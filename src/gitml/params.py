"""Loading params.yaml and checking it against the project's JSON Schema.

Errors name the key, the bad value and what was expected, e.g.
``params.yaml: train.n_estimators = -3 is invalid: expected a number >= 1``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from gitml.errors import GitmlError
from gitml.fsutil import read_json


class ParamsLoader(yaml.SafeLoader):
    """SafeLoader that also reads `1e-05` and `1E+16` as floats (YAML 1.2 does; PyYAML's 1.1 wants `1.0e-05`).

    DVC writes floats that way when `dvc exp run -S` sets them, so without this a learning
    rate of 1e-05 set by an experiment would come back as a string.
    """


ParamsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def read_yaml(path: str | Path) -> Any:
    p = Path(path)
    if not p.exists():
        raise GitmlError(f"{p} does not exist", hint="create it or pass the right path")
    try:
        return yaml.load(p.read_text(encoding="utf-8"), Loader=ParamsLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise GitmlError(f"{p} is not valid YAML: {exc}", hint="fix the YAML syntax") from exc


def read_schema(path: str | Path) -> dict[str, Any]:
    return read_json(path, "params schema", missing_hint="check [tool.gitml].params_schema")


def _expected(error: Any) -> str:
    """Describe in words what the schema wanted where this error happened."""
    v, kw = error.validator_value, error.validator
    words = {
        "type": lambda: f"a value of type {' or '.join(v) if isinstance(v, list) else v}",
        "enum": lambda: "one of " + ", ".join(repr(x) for x in v),
        "const": lambda: repr(v),
        "minimum": lambda: f"a number >= {v}",
        "maximum": lambda: f"a number <= {v}",
        "exclusiveMinimum": lambda: f"a number > {v}",
        "exclusiveMaximum": lambda: f"a number < {v}",
        "minLength": lambda: f"a string of at least {v} characters",
        "pattern": lambda: f"a string matching {v}",
        "required": lambda: "the keys " + ", ".join(v),
    }
    return words[kw]() if kw in words else error.message


def validation_error(data: Any, schema: dict[str, Any], source: str) -> GitmlError | None:
    """The most relevant schema violation as a GitmlError, or None when data is valid."""
    import jsonschema
    from jsonschema.exceptions import best_match

    validator_cls = jsonschema.validators.validator_for(schema)
    error = best_match(validator_cls(schema).iter_errors(data))
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        key = f"{where}.{extra[0]}" if error.absolute_path else extra[0]
        return GitmlError(
            f"{source}: unknown key {key}", hint=f"expected one of: {', '.join(allowed)}"
        )
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in (error.instance or {})]
        key = f"{where}.{missing[0]}" if error.absolute_path else missing[0]
        return GitmlError(f"{source}: missing key {key}", hint="add it (see the params schema)")
    return GitmlError(f"{source}: {where} = {error.instance!r} is invalid: expected {_expected(error)}")


def load_validated(params_path: str | Path, schema_path: str | Path) -> dict[str, Any]:
    """Read params and raise a GitmlError naming the first problem, if any."""
    data = read_yaml(params_path)
    if data is None:
        data = {}
    err = validation_error(data, read_schema(schema_path), Path(params_path).name)
    if err is not None:
        raise err
    return data
