"""`mips generate`: deterministic synthetic input files for a performance year (sample data, benchmarks)."""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from mips.db import sql_literal
from mips.errors import PipelineError

NAME = "generate"
# DuckDB spills to a temporary folder beyond this: 10 million lines then peak near 2 GiB instead of ~4.
MEMORY_LIMIT = "2GB"
HELP = "Write synthetic input files (claims, eligibility, EHR extract, roster, PI/IA/cost) for a performance year"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--performance-year", type=int, required=True,
                        help="performance year whose claims measure specifications the codes come from (2018-2025)")
    parser.add_argument("--claim-lines", type=int, required=True, help="number of Medicare claim lines (exact)")
    parser.add_argument("--seed", type=int, default=1, help="seed: the same seed, size and year give identical files")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv", help="file format (default csv)")
    parser.add_argument("--output", type=Path, required=True, help="folder for the files (<output>/<table>.csv ...)")
    parser.add_argument("--encounters", action=argparse.BooleanOptionalAction, default=True,
                        help="also write the EHR extract: patient, encounter, condition, procedure (default on)")
    parser.add_argument("--bad-rows-percent", type=float, default=0.0,
                        help="spoil about this percent of rows on purpose (bad NPI check digit, impossible date, "
                             "unknown gender, duplicate claim line ...) so that validation shows rejects (default 0)")


def run(args) -> int:
    import duckdb

    if args.claim_lines < 1:
        raise PipelineError("--claim-lines must be at least 1")
    if not 0 <= args.bad_rows_percent <= 50:
        raise PipelineError("--bad-rows-percent must be between 0 and 50")
    started = time.perf_counter()
    spill = Path(tempfile.mkdtemp(prefix="mips-generate-"))
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute("SET temp_directory = " + sql_literal(spill.as_posix()))
        return _generate(con, args, started)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def _generate(con, args, started: float) -> int:
    from transforms.generate import build_synthetic_inputs
    from transforms.reference import attach_reference

    attach_reference(con)
    years = [r[0] for r in con.execute(
        "SELECT DISTINCT performance_year FROM ref.claims_eligibility_options ORDER BY 1").fetchall()]
    if args.performance_year not in years:
        raise PipelineError(f"no claims measure specifications for performance year {args.performance_year} "
                            f"(compiled years: {', '.join(map(str, years))})")
    generated = build_synthetic_inputs(
        con, performance_year=args.performance_year, claim_lines=args.claim_lines, seed=args.seed,
        encounters=args.encounters, bad_rows_percent=args.bad_rows_percent)
    args.output.mkdir(parents=True, exist_ok=True)
    options = "FORMAT csv, HEADER true" if args.format == "csv" else "FORMAT parquet"
    print(f"mips generate: performance year {args.performance_year}, seed {args.seed}, "
          f"{len(generated.targeted_measures)} claims measures targeted")
    for name, view in generated.tables.items():
        path = args.output / f"{name}.{args.format}"
        tmp = path.with_name(path.name + ".tmp")
        # COPY answers with the number of rows it wrote; the file appears complete or not at all.
        rows = con.execute(f"COPY (SELECT * FROM {view}) TO {sql_literal(tmp.as_posix())} ({options})").fetchall()[0][0]
        tmp.replace(path)
        print(f"  {path}  {rows:,} rows")
    for measure_id, why in generated.untargeted_measures:
        print(f"  measure {measure_id} not targeted: {why}")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0
