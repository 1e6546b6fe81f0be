"""`python -m meshlens.config --markdown`: print (or --write) the settings reference."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from meshlens.config.docs import render_markdown, replace_generated


def main(argv: list[str] | None = None) -> int:
    """Print the generated reference, or rewrite it inside a Markdown file."""
    parser = argparse.ArgumentParser(prog="python -m meshlens.config")
    parser.add_argument("--markdown", action="store_true", help="print the settings reference")
    parser.add_argument(
        "--write", metavar="FILE", type=Path, help="replace the reference inside FILE"
    )
    args = parser.parse_args(argv)
    if args.write is not None:
        document = args.write.read_text(encoding="utf-8")
        args.write.write_text(replace_generated(document, render_markdown()), encoding="utf-8")
        return 0
    if args.markdown:
        sys.stdout.write(render_markdown())
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
