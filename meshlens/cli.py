"""The command line: `meshlens serve | import | decode | simulate | bench`.

Each subcommand is one small function; the heavy lifting lives in the layers below.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TypeAlias

from meshlens.errors import DecodeError
from meshlens.wire import ChannelKeys, RegionKeys, decode_hex, packet_json

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


def _decode(args: argparse.Namespace) -> int:
    """Decode one frame and print it as `POST /api/decode` would return it."""
    explicit = dict(item.partition("=")[::2] for item in args.key)
    keys, warnings = ChannelKeys.build(hash_channels=args.channel, explicit=explicit)
    for warning in warnings:
        print(f"meshlens decode: {warning}", file=sys.stderr)
    if warnings:
        return 2
    try:
        packet = decode_hex(
            "".join(args.hex),
            keys,
            validate_signatures=not args.no_verify,
            regions=RegionKeys.from_names(args.region),
        )
    except DecodeError as error:
        print(f"meshlens decode: {error}", file=sys.stderr)
        return 1
    print(json.dumps(packet_json(packet), indent=2, ensure_ascii=False))
    return 0


def _register_decode(sub: Subparsers, handlers: dict[str, Command]) -> None:
    parser = sub.add_parser("decode", help="decode one MeshCore frame given as hex")
    parser.add_argument("hex", nargs="+", help="the frame as hex (spaces allowed)")
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="NAME=HEX",
        help="a channel key to try (repeatable); the Public key is always loaded",
    )
    parser.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="#NAME",
        help="a hashtag channel whose key is derived from its name (repeatable)",
    )
    parser.add_argument(
        "--region",
        action="append",
        default=[],
        metavar="#NAME",
        help="a region to match transport codes against (repeatable)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip advert signature checks")
    handlers["decode"] = _decode


# Each entry adds one subcommand's parser and handler; keep them in --help order.
_COMMANDS: list[_Registrar] = [_register_decode]


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
