"""The command line: `meshlens serve | import | decode | simulate | bench`.

Each subcommand is one small function; the heavy lifting lives in the layers below.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TypeAlias

Command = Callable[[argparse.Namespace], int]


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that touches data."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="config.json in CoreScope's format (default: ./config.json when it exists)",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the SQLite database file (default: ./data/meshlens.db)",
    )


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    """Build the argument parser and the table of subcommand handlers."""
    parser = argparse.ArgumentParser(
        prog="meshlens",
        description="Analytics server for MeshCore mesh radio networks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, Command] = {}
    for register in _COMMANDS:
        register(sub, handlers)
    return parser, handlers


Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
_Registrar = Callable[[Subparsers, dict[str, Command]], None]

# Each entry adds one subcommand's parser and handler; keep them in --help order.
_COMMANDS: list[_Registrar] = []


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `meshlens` console script."""
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return handlers[args.command](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
