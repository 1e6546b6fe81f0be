"""Generation: how long `meshlens simulate` takes to build the dataset, and what it holds."""

from __future__ import annotations

from bench.suite import Context, Row

ORDER = 10


def rows(ctx: Context) -> list[Row]:
    """Build time, size and contents of the dataset (from its build record)."""
    b = ctx.build
    area = "simulator"
    out = [
        Row(
            area,
            f"`meshlens simulate --profile {ctx.profile} --seed {ctx.seed} --db`",
            f"{b.get('build_s', '?')} s",
            "a few minutes (staging)",
            note="simulation in a forked child, ingest through the real Pipeline in this process"
            f"; {b.get('pipeline_s', '?')} s inside Pipeline.process"
            + (" (figure from the cached build)" if b.get("cached") else ""),
        ),
        Row(area, "database size", f"{int(b.get('db_bytes', 0)) / 2**20:.0f} MiB"),
        Row(
            area,
            "stored transmissions / observations",
            f"{int(b.get('transmissions', 0)):,} / {int(b.get('observations', 0)):,}",
            "~80k / ~2.3M (staging)",
        ),
        Row(
            area, "transmissions sent (incl. ones no observer heard)", f"{int(b.get('sent', 0)):,}"
        ),
    ]
    return out
