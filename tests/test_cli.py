"""The CLI: help everywhere, --version, one error handler, doctor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from gitml import __version__
from gitml.cli import cli, main

GITML = str(Path(sys.executable).parent / "gitml")


def walk(command: click.Command, ctx: click.Context, path: str):
    yield path, command, ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"{path} {name} cannot be loaded"
            yield from walk(sub, click.Context(sub, info_name=name, parent=ctx), f"{path} {name}")


def test_every_command_and_option_has_help():
    missing = []
    for path, command, _ in walk(cli, click.Context(cli, info_name="gitml"), "gitml"):
        if not (command.help or command.short_help):
            missing.append(path)
        for param in command.params:
            if isinstance(param, click.Option) and not param.help and param.name != "help":
                missing.append(f"{path} {param.opts[0]}")
    assert not missing, f"without help text: {missing}"


def test_version():
    out = subprocess.run([GITML, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"gitml {__version__}"


def test_user_error_is_one_line_and_exit_1(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no DVC project found")
    assert err.count("\n") == 1


def test_traceback_flag_shows_the_exception(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from gitml.errors import GitmlError

    with pytest.raises(GitmlError):
        main(["--traceback", "validate"])


def test_import_is_light():
    code = "import sys, gitml, gitml.cli; print(sorted(m for m in ('dvc', 'pandas', 'sklearn', 'yaml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
