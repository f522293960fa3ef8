"""The README is the user's door: every CLI command is documented there, with the help's own example.

(sqlite-utils does the same in its tests/test_docs.py.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest

from monitor.cli import cli
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
# Where a command is shown in the README: `monitor NAME` in a code block or in backticks.
_SHOWN = r"monitor {}(\s|`|;|$)"


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    """(full name, command) of every subcommand, depth first."""
    for name, command in sorted(group.commands.items()):
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            yield from _commands(command, f"{full} ")
        else:
            yield full, command


ALL = list(_commands(cli))


@pytest.mark.parametrize(("name", "command"), ALL, ids=[name for name, _ in ALL])
def test_command_is_documented_in_readme(name: str, command: click.Command) -> None:
    assert re.search(_SHOWN.format(re.escape(name)), README, re.M), f"`monitor {name}` is not in README.md"


@pytest.mark.parametrize(("name", "command"), ALL, ids=[name for name, _ in ALL])
def test_command_help_has_an_example(name: str, command: click.Command) -> None:
    assert "monitor " in (command.help or ""), f"`monitor {name} --help` shows no example"


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in README and re.search(r"^make test$", ci, re.M)
