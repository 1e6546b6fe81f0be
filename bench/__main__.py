"""`python -m bench`: build (or reuse) the dataset, run every benchmark module, write the page.

flock /work/bench.lock env PYTHONPATH=. python -m bench            # staging, all modules
python -m bench --profile small --quick --output /tmp/b.md         # the smoke test's run
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import bench
from bench import dataset
from bench.suite import Context, discover, merge, previous_results, render, run_all, write_page

REPO = Path(__file__).resolve().parents[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite and write docs/benchmarks.md (or --output)."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--profile", default="staging")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="few rounds, skip slow modules")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="MODULE",
        help="run only these modules (repeatable)",
    )
    parser.add_argument("--cache", type=Path, help="dataset folder (default /work/bench-data)")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    log(f"bench: dataset {args.profile} seed {args.seed} ...")
    db_path, build = dataset.ensure(args.profile, args.seed, args.cache)
    log(f"bench: dataset {db_path} ({'cached' if build.get('cached') else 'built'})")
    ctx = Context(
        profile=args.profile,
        seed=args.seed,
        db_path=db_path,
        truth_path=db_path.with_name(db_path.name + ".truth.npz"),
        build=build,
        quick=args.quick,
        repo=REPO,
        only=tuple(args.only),
    )
    results = run_all(ctx, discover(bench), log)
    which = f" of {', '.join(ctx.only)}" if ctx.only else ""
    ctx.notes.append(
        f"1-minute load average {load_before:.1f} before the run{which} and "
        f"{os.getloadavg()[0]:.1f} after it; the lock keeps other benchmarks out, not other "
        "work on this shared 2-core machine"
    )
    if ctx.only:  # a partial run keeps the other modules' figures already on the page
        results = merge(previous_results(args.output), results)
    command = "flock /work/bench.lock env PYTHONPATH=. python -m bench"
    if args.profile != "staging" or args.quick:
        command += f" --profile {args.profile}" + (" --quick" if args.quick else "")
    write_page(args.output, render(ctx, results, command))
    log(f"bench: wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
