"""The `/experiment` command and override grammar, property-tested with hypothesis."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitml.experiments import grammar
from gitml.params import read_yaml
from gitml.experiments.grammar import Command, Override, OverrideError, parse_command, parse_override, parse_overrides

KEYS = st.from_regex(r"\A[a-z_][a-z0-9_]{0,8}(\.[a-z_][a-z0-9_]{0,8}){0,3}\Z")
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False), TEXT,
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4))


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b if not isinstance(a, list) else (
        isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True)))


# -- values are YAML 1.2 scalars ------------------------------------------------


@given(KEYS, VALUES)
def test_a_formatted_value_parses_back_to_itself(key: str, value: object) -> None:
    override = parse_override(f"{key}={grammar.format_value(value)}")
    assert override.key == key
    assert len(override.values) == 1 and _same(override.values[0], value)


@given(st.lists(KEYS, min_size=1, max_size=4, unique=True), st.data())
def test_a_command_of_several_overrides_round_trips(keys: list[str], data: st.DataObject) -> None:
    values = [data.draw(VALUES) for _ in keys]
    text = "/experiment " + " ".join(f"{k}={grammar.format_value(v)}" for k, v in zip(keys, values, strict=True))
    command = parse_command(text)
    assert command is not None and command.action == "run"
    assert [o.key for o in command.overrides] == keys
    assert all(_same(o.values[0], v) for o, v in zip(command.overrides, values, strict=True))


@given(KEYS, st.lists(st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False), st.booleans(),
                                st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=6)),
                      min_size=2, max_size=6, unique_by=lambda v: (type(v).__name__, v)))
def test_a_comma_list_is_a_grid_axis(key: str, values: list[object]) -> None:
    override = parse_override(f"{key}=" + ",".join(grammar.format_value(v) for v in values))
    assert override.is_axis
    assert all(_same(a, b) for a, b in zip(override.values, values, strict=True))


@pytest.mark.parametrize(("text", "expected"), [
    ("0.1", 0.1), ("300", 300), ("-5", -5), ("+5", 5), ("1e-3", 0.001), ("1.5E+2", 150.0), (".5", 0.5),
    ("true", True), ("False", False), ("null", None), ("~", None),
    ("'8'", "8"), ('"8"', "8"), ("'true'", "true"), ("'a b'", "a b"), ('"a,b"', "a,b"), ("'it''s'", "it's"),
    ('"tab\\there"', "tab\there"),
    ("yes", "yes"), ("on", "on"), ("no", "no"), ("010", 10), ("0o17", 15), ("0x1F", 31), ("1:20", "1:20"),
    ("2024-01-01", "2024-01-01"), ("robust", "robust"), ("none", "none"),
    ("[1,2]", [1, 2]), ("[1, 'a b', null]", [1, "a b", None]), ("{a: 1, b: [true]}", {"a": 1, "b": [True]}),
    ("[]", []),
])
def test_values_mean_what_they_look_like(text: str, expected: object) -> None:
    assert _same(grammar.parse_value(text), expected)


def test_nested_keys_and_quoting_in_a_comment() -> None:
    command = parse_command('please run this\n/experiment train.random_forest.max_depth=8 '
                            'featurize.scaler="robust" data.csv.file=\'my data.csv\' tags=[a, "b c"]\nthanks')
    assert command == Command("run", (
        Override("train.random_forest.max_depth", (8,)), Override("featurize.scaler", ("robust",)),
        Override("data.csv.file", ("my data.csv",)), Override("tags", (["a", "b c"],)),
    ))


def test_a_list_in_brackets_is_one_value_and_lists_can_be_grid_values() -> None:
    assert parse_override("k=[1,2]").values == ([1, 2],)
    assert parse_override("k=[1,2],[3]").values == ([1, 2], [3])
    assert parse_override("k='a,b',c").values == ("a,b", "c")


@pytest.mark.parametrize("text", [
    "/experiment k=", "/experiment k=1,,2", "/experiment k=1,", "/experiment =1", "/experiment 1k=2",
    "/experiment k..x=1", "/experiment k.=1", "/experiment novalue", "/experiment k='open",
    '/experiment k="open', "/experiment k=[1,2", "/experiment k=1]", "/experiment k={a: 1", "/experiment k=#x",
    "/experiment k=!!python/object:os.system", "/experiment k=&a", "/experiment k=.inf", "/experiment k=.nan",
    "/experiment k=1,1", "/experiment --force", "/experiment promote", "/experiment promote a b",
    "/experiment promote ../etc", "/experiment cancel now", "/experiment --base=refs/pull/1/head k=1",
    "/experiment --base=0123456789abcdef k=1", "/experiment --base=a..b k=1", "/experiment k=[1, .inf]",
])
def test_malformed_input_is_an_override_error(text: str) -> None:
    with pytest.raises(OverrideError):
        parse_command(text)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_any_text_parses_or_raises_only_override_error(text: str) -> None:
    try:
        parse_command("/experiment " + text)
    except OverrideError as exc:
        assert exc.message
    try:
        parse_overrides(text)
    except OverrideError as exc:
        assert exc.message


def test_commands() -> None:
    assert parse_command("just a comment") is None
    assert parse_command("/experiments are fun") is None
    assert parse_command("/experiment") == Command("run")
    assert parse_command("  /experiment cancel  ") == Command("cancel")
    assert parse_command("/experiment HELP") == Command("help")
    assert parse_command("/experiment promote issue-12-3") == Command("promote", name="issue-12-3")
    assert parse_command("/experiment run --base=release/1.2 k=1") == Command("run", (Override("k", (1,)),),
                                                                              base="release/1.2")


def test_the_error_names_the_problem() -> None:
    with pytest.raises(OverrideError, match=r"unterminated ' quote"):
        parse_command("/experiment featurize.scaler='robust")
    with pytest.raises(OverrideError, match=r"train.max_depth: the value is empty"):
        parse_command("/experiment train.max_depth=")


# -- overrides in the issue form: key=value lines or YAML -------------------------


def test_key_value_lines_and_yaml_give_the_same_overrides() -> None:
    lines = "train.random_forest.n_estimators=300\n# a comment\nfeaturize.scaler=robust\n"
    nested = "train:\n  random_forest:\n    n_estimators: 300\nfeaturize:\n  scaler: robust\n"
    flat = "train.random_forest.n_estimators: 300\nfeaturize.scaler: robust\n"
    expected = [Override("train.random_forest.n_estimators", (300,)), Override("featurize.scaler", ("robust",))]
    assert parse_overrides(lines) == parse_overrides(nested) == parse_overrides(flat) == expected


def test_yaml_lists_are_axes_in_the_grid_field_and_values_elsewhere() -> None:
    assert parse_overrides("train.random_forest.max_depth: [4, 8]") == [
        Override("train.random_forest.max_depth", (4, 8))]
    assert parse_overrides("tags: [4, 8]", grid=False) == [Override("tags", ([4, 8],))]
    assert parse_overrides("k=4,8", grid=False) == [Override("k", (4, 8))]
    with pytest.raises(OverrideError, match="YAML mapping"):
        parse_overrides("- just\n- a list\n")


# -- values reach `dvc exp run -S` unchanged (DVC's own Hydra override code) ------
# ... as the pipeline reads them back (gitml.params.read_yaml: DVC writes 1e-05, which PyYAML alone reads as a string).


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(VALUES)
def test_hydra_values_reach_params_yaml_unchanged(tmp_path: Path, value: object) -> None:
    from dvc.utils.hydra import apply_overrides

    params = tmp_path / "params.yaml"
    params.write_text("train:\n  x: 1\n")
    apply_overrides(str(params), [f"train.x={grammar.hydra_value(value)}"])
    assert _same(read_yaml(params)["train"]["x"], value)


@pytest.mark.parametrize("value", ["a'b\\", "${x}", "\\${x}", "x,y", "a=b", "'", "\\", "[1]", "null", "8", "é ü"])
def test_hydra_escaping_of_awkward_strings(tmp_path: Path, value: str) -> None:
    from dvc.utils.hydra import apply_overrides

    params = tmp_path / "params.yaml"
    params.write_text("k: 1\n")
    apply_overrides(str(params), [f"k={grammar.hydra_value(value)}"])
    assert read_yaml(params)["k"] == value
