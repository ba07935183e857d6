"""`mips gaps`: care-gap lists per clinician (CSV and Parquet), from a published period."""
from __future__ import annotations

import argparse
import os
import shutil
import uuid
from pathlib import Path

from mips.errors import PipelineError

NAME = "gaps"
HELP = ("Care gaps per clinician: patients not reported, not met, or with a poor result on an inverse measure, "
        "with the last relevant date and the quality data codes that close the gap (CSV and Parquet)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, default=Path("out"), help="output folder of the runs (default out/)")
    parser.add_argument("--performance-year", type=int, required=True, help="performance year")
    parser.add_argument("--dest", type=Path, required=True,
                        help="folder to write: DEST/<PY>/care_gaps.parquet and .csv (all clinicians) and "
                             "DEST/<PY>/by_clinician/<TIN>-<NPI>.csv")
    parser.add_argument("--tin", help="only this TIN")
    parser.add_argument("--npi", help="only this clinician")
    parser.add_argument("--measure", help="only this measure id, e.g. 001")
    parser.add_argument("--source", choices=["claims", "encounters", "ehr"],
                        help="only instances counted from this source (default all; a Medicare patient seen in "
                             "the EHR can appear once per source)")


def run(args) -> int:
    import duckdb

    from mips.catalog import create_views
    from mips.store import published_years
    from transforms.care_gaps import build_care_gaps

    if not args.output.is_dir() or args.performance_year not in published_years(args.output):
        raise PipelineError(f"performance year {args.performance_year} is not published in {args.output}")
    con = duckdb.connect()
    try:
        if "measure_instances" not in create_views(con, args.output):
            raise PipelineError(f"{args.output} has no measure_instances (quality measures were not computed)")
        rows = build_care_gaps(con, args.performance_year, tin=args.tin, npi=args.npi, measure_id=args.measure,
                               source=args.source)
        final = args.dest / str(args.performance_year)
        staging = args.dest / f".staging-{uuid.uuid4().hex}"
        (staging / "by_clinician").mkdir(parents=True)
        con.execute(f"COPY care_gaps TO '{staging / 'care_gaps.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
        con.execute(f"COPY care_gaps TO '{staging / 'care_gaps.csv'}' (FORMAT csv, HEADER)")
        clinicians = con.execute("SELECT DISTINCT tin, npi FROM care_gaps ORDER BY 1, 2").fetchall()
        for tin, npi in clinicians:  # one small file per clinician: the list a practice hands out
            con.execute(f"COPY (SELECT * FROM care_gaps WHERE tin = ? AND npi = ?) TO "
                        f"'{staging / 'by_clinician' / f'{tin}-{npi}.csv'}' (FORMAT csv, HEADER)", [tin, npi])
        summary = con.execute("""SELECT gap, count(*) FROM care_gaps GROUP BY 1 ORDER BY 2 DESC""").fetchall()
    finally:
        con.close()
    old = args.dest / f".old-{uuid.uuid4().hex}"
    if final.exists():
        os.rename(final, old)
    os.rename(staging, final)  # the folder is replaced whole: no list of an earlier run is left beside new ones
    shutil.rmtree(old, ignore_errors=True)
    if args.verbosity != "quiet":
        for gap, n in summary:
            print(f"  {gap}: {n:,}")
    print(f"{rows:,} care gap(s) of {len(clinicians)} clinician(s) written to {final} "
          "(care_gaps.parquet, care_gaps.csv, by_clinician/<TIN>-<NPI>.csv); they hold patient ids")
    return 0
