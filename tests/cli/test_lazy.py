"""The command line imports a command's module only when that command runs."""

from __future__ import annotations

import inspect
import subprocess
import sys

import typer.main
from typer.testing import CliRunner

from eventharness.cli.app import COMMANDS, app


def _first_paragraph(text: str | None) -> str:
    return " ".join(inspect.cleandoc(text or "").split("\n\n")[0].split())


def test_every_listed_summary_is_the_first_paragraph_of_the_commands_help() -> None:
    group = typer.main.get_command(app)
    ctx = group.make_context("eventharness", ["--help"], resilient_parsing=True)
    for name in COMMANDS:
        command = group.get_command(ctx, name)  # resolved: the real command, imported
        assert command is not None, name
        assert _first_paragraph(command.help) == COMMANDS[name].summary, name


def test_help_lists_every_command_and_imports_none_of_their_modules() -> None:
    code = (
        "import sys\n"
        "from eventharness.cli import main\n"
        "sys.argv = ['eventharness', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {'eventharness.cli.run', 'eventharness.cli.setup', 'eventharness.cli.contracts',\n"
        "         'eventharness.files.model', 'eventharness.engine.harness', 'aiokafka',\n"
        "         'aio_pika', 'httpx', 'hypothesis', 'jsonschema', 'yaml'}\n"
        "print('LOADED', sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for name in COMMANDS:
        assert f" {name} " in out, name
    assert out.strip().splitlines()[-1] == "LOADED []"


def test_a_lazy_command_runs_and_its_group_has_its_subcommands() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["contracts", "--help"])
    assert result.exit_code == 0, result.output
    for sub in ("verify", "publish", "can-i-deploy", "matrix", "check"):
        assert sub in result.output
    twice = runner.invoke(app, ["contracts", "--help"])
    assert twice.output == result.output  # the store's commands are registered once
    unknown = runner.invoke(app, ["contrats"])
    assert unknown.exit_code == 2
    assert "No such command 'contrats'" in unknown.output
