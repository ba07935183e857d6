"""`mips report`: a self-contained HTML score report per TIN, charts included, from a published period."""
from __future__ import annotations

import argparse
import os
import uuid
from pathlib import Path

from mips.errors import PipelineError

NAME = "report"
HELP = ("Write one self-contained HTML score report per TIN (a section per clinician; charts rendered into the "
        "file, nothing fetched when it is opened)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, default=Path("out"), help="output folder of the runs (default out/)")
    parser.add_argument("--performance-year", type=int, required=True, help="performance year")
    parser.add_argument("--dest", type=Path, required=True, help="folder to write DEST/<PY>/report-<TIN>.html into")
    parser.add_argument("--tin", action="append", help="only this TIN (repeatable; default every TIN)")


def run(args) -> int:
    import duckdb

    from mips import progress
    from mips.catalog import create_views
    from mips.cli import version_text
    from mips.report import render_tin
    from mips.store import published_years
    from transforms.report_data import tins

    if not args.output.is_dir() or args.performance_year not in published_years(args.output):
        raise PipelineError(f"performance year {args.performance_year} is not published in {args.output}")
    con = duckdb.connect()
    try:
        tables = create_views(con, args.output)
        if "final_scores" not in tables:
            raise PipelineError(f"{args.output} has no final_scores: nothing to report")
        wanted = tins(con, args.performance_year)
        if args.tin:
            unknown = sorted(set(args.tin) - set(wanted))
            if unknown:
                raise PipelineError(f"TIN {', '.join(unknown)} has no final score in {args.performance_year}")
            wanted = [t for t in wanted if t in args.tin]
        folder = args.dest / str(args.performance_year)
        folder.mkdir(parents=True, exist_ok=True)
        for tin in wanted:
            with progress.step(f"report of TIN {tin}") as outcome:
                html = render_tin(con, args.performance_year, tin, version=version_text())
                target = folder / f"report-{tin}.html"
                tmp = folder / f".{target.name}.{uuid.uuid4().hex}"
                tmp.write_text(html, encoding="utf-8")
                os.replace(tmp, target)
                outcome["text"] = f"{target} ({len(html) / 1024:,.0f} KiB)"
    finally:
        con.close()
    print(f"{len(wanted)} report(s) written to {folder} (open report-<TIN>.html in a browser; no network needed)")
    return 0
