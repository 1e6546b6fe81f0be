"""The command line: `meshlens serve | import | decode | simulate | bench`.

Each subcommand is one small function; the heavy lifting lives in the layers below.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeAlias

from meshlens.config import Settings, find_config_path, load_settings, overrides_from_args
from meshlens.errors import ConfigError, DecodeError, InputError, MeshlensError
from meshlens.wire import ChannelKeys, RegionKeys, decode_hex, packet_json

log = logging.getLogger("meshlens")

DEMO_RECOMPUTE_S = 15.0  # `serve --demo`: every analytic recomputes this often

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


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from --config/$MESHLENS_CONFIG/./config.json, the environment and flags."""
    path = find_config_path(getattr(args, "config", None), os.environ)
    settings, warnings = load_settings(path, os.environ, overrides_from_args(args))
    logging.basicConfig(
        level=settings.meshlens.log_level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    for warning in warnings:
        log.warning("config: %s", warning)
    return settings


def _fail(command: str, error: Exception) -> int:
    print(f"meshlens {command}: {error}", file=sys.stderr)
    return 2 if isinstance(error, ConfigError) else 1


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


def _import(args: argparse.Namespace) -> int:
    """Import capture files into the database; bad records are reported, never fatal."""
    from meshlens.ingest.files import import_paths  # noqa: PLC0415
    from meshlens.storage import open_storage  # noqa: PLC0415 - keeps `meshlens decode` light

    try:
        settings = _settings(args)
        # The summary lists rejected records; the per-record log lines would repeat it.
        logging.getLogger("meshlens.ingest").setLevel(logging.ERROR)
        storage = open_storage(settings, load=True)
    except MeshlensError as error:
        return _fail("import", error)
    try:
        started = time.perf_counter()
        reports = import_paths([Path(p) for p in args.paths], storage.pipeline, quiet=args.quiet)
        elapsed = time.perf_counter() - started
    finally:
        storage.close()
    failed = [r for r in reports if isinstance(r, InputError)]
    if not args.quiet:
        stored = sum(r.stored for r in reports if not isinstance(r, InputError))
        print(f"stored {stored} observations in {elapsed:.1f} s into {settings.db_path}")
    return 1 if failed else 0


def _register_import(sub: Subparsers, handlers: dict[str, Command]) -> None:
    parser = sub.add_parser(
        "import",
        help="import captures: meshcoretomqtt JSONL, packet JSONL or a CoreScope database",
        description="Import one or more files; the format of each is detected. Records that "
        "cannot be read are counted and listed with their line or row; the rest is imported. "
        "Importing the same file twice adds nothing.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files to import")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    _add_data_options(parser)
    handlers["import"] = _import


def _serve(args: argparse.Namespace) -> int:
    """Run the HTTP server until SIGTERM or SIGINT."""
    from meshlens.api.server import bind, run_loop  # noqa: PLC0415
    from meshlens.app import Server  # noqa: PLC0415
    from meshlens.ingest.feeds import Feed  # noqa: PLC0415

    try:
        settings = _settings(args)
        demo = args.demo or settings.meshlens.demo
        feeds: list[Feed] = []
        if not demo:
            from meshlens.ingest.feeds import live_feeds  # noqa: PLC0415

            feeds += live_feeds(settings)
        if demo:
            from meshlens.records import SystemClock  # noqa: PLC0415
            from meshlens.sim.demo import DemoSource, demo_settings  # noqa: PLC0415

            settings = demo_settings(settings)
            source = DemoSource(SystemClock())
            count = source.prepare(settings.db_path)
            feeds.append(source)
            log.info("demo: %d simulated sightings in %s, more every second", count,
                     settings.db_path)  # fmt: skip
        # The demo recomputes often, so the dashboard changes while one watches.
        server = Server(settings, demo=demo, feeds=feeds,
                        interval_override_s=DEMO_RECOMPUTE_S if demo else None)  # fmt: skip
    except MeshlensError as error:
        return _fail("serve", error)
    try:
        sock = bind(settings.meshlens.host, settings.port)
    except OSError as error:
        server.shutdown()
        return _fail("serve", MeshlensError(f"cannot listen on {settings.meshlens.host}:"
                                            f"{settings.port}: {error.strerror}"))  # fmt: skip
    run_loop(server.run(sock))
    return 0


def _register_serve(sub: Subparsers, handlers: dict[str, Command]) -> None:
    parser = sub.add_parser(
        "serve",
        help="run the HTTP API (and dashboard) until stopped",
        description="Listen at once, load the database in the background, recompute the "
        "analytics, and serve them. SIGTERM or SIGINT stops it gracefully: everything "
        "already received is written before it exits.",
    )
    parser.add_argument("--host", help="address to bind (default: meshlens.host, 0.0.0.0)")
    parser.add_argument("--port", type=int, help="TCP port (default: port, 3000; 0 = any free)")
    parser.add_argument(
        "--demo", action="store_true", help="feed the server from the built-in mesh simulator"
    )
    _add_data_options(parser)
    handlers["serve"] = _serve


def _simulate(args: argparse.Namespace) -> int:
    """Run the mesh simulator into a database, a JSONL file or an MQTT broker."""
    from meshlens.sim import command  # noqa: PLC0415 - the simulator is not needed elsewhere

    try:
        spec = command.build_spec(args.profile, args.seed, args.center, args.end)
        request = command.SimulateRequest(
            spec=spec,
            db=Path(args.db) if args.db else None,
            jsonl=Path(args.jsonl) if args.jsonl else None,
            mqtt=args.mqtt,
            rate_per_s=args.rate,
            force=args.force,
            quiet=args.quiet,
        )
        command.run(request)
    except (KeyError, ValueError, FileExistsError, OSError, MeshlensError) as error:
        return _fail("simulate", error)
    return 0


def _register_simulate(sub: Subparsers, handlers: dict[str, Command]) -> None:
    parser = sub.add_parser(
        "simulate",
        help="generate a realistic simulated mesh: a database, meshcoretomqtt JSONL or MQTT",
        description="Simulate a MeshCore mesh (nodes around towns and hills, flood and direct "
        "routing, observers in several IATA regions) and write what its observers publish. "
        "The same profile and seed always give the same output.",
    )
    parser.add_argument("--profile", default="small", help="small, staging, large or demo")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--db", metavar="PATH", help="write a meshlens database")
    target.add_argument("--jsonl", metavar="PATH", help="write meshcoretomqtt JSONL")
    target.add_argument("--mqtt", metavar="URL", help="publish live to mqtt://HOST[:PORT]")
    parser.add_argument(
        "--rate",
        type=float,
        default=50.0,
        metavar="PER_S",
        help="messages per second with --mqtt (default 50)",
    )
    parser.add_argument(
        "--center", metavar="LAT,LON", help="centre of the mesh (default: San Francisco Bay)"
    )
    parser.add_argument(
        "--end",
        metavar="ISO|now",
        help="end of the simulated window (default 2026-03-01T00:00:00Z, fixed so the "
        "output is reproducible)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing output file")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    handlers["simulate"] = _simulate


# Each entry adds one subcommand's parser and handler; keep them in --help order.
_COMMANDS: list[_Registrar] = [
    _register_serve,
    _register_import,
    _register_decode,
    _register_simulate,
]


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
