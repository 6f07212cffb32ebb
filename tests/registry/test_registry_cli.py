"""The registry and ci command trees: help text everywhere, --json on every read."""

from __future__ import annotations

import click
import pytest

from gitml.ci.cli import ci
from gitml.cli import main
from gitml.registry.cli import registry

READS = {"list", "show", "history", "which", "fetch", "site", "register", "promote", "deprecate", "deploy"}


def _walk(cmd: click.Command, path: str = ""):
    yield path or cmd.name, cmd
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from _walk(sub, f"{path or cmd.name} {name}")


@pytest.mark.parametrize("group", [registry, ci], ids=["registry", "ci"])
def test_every_command_and_option_has_help(group: click.Group) -> None:
    for path, cmd in _walk(group):
        assert (cmd.help or "").strip(), f"{path} has no help text"
        for p in cmd.params:
            if isinstance(p, click.Option):
                assert (p.help or "").strip(), f"{path} {p.opts} has no help"


def test_reads_have_json() -> None:
    for name in READS:
        assert any("--json" in p.opts for p in registry.commands[name].params), name
    assert any("--json" in p.opts for p in ci.commands["release"].params)


def test_groups_are_reachable_from_gitml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registry", "--help"]) == 0
    assert "promote" in capsys.readouterr().out
    assert main(["ci", "release", "--help"]) == 0
    assert "register a new model version" in capsys.readouterr().out


def test_a_bad_option_value_is_one_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["registry", "register", "model", "--bump", "huge"]) == 2
    assert "Invalid value for '--bump'" in capsys.readouterr().err
