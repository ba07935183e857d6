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
HELP = ("Write synthetic input files for a performance year: Medicare claims with the claims-coded encounter "
        "extract, roster and PI/IA/cost (--claim-lines), and/or EHR data as FHIR NDJSON (--patients)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--performance-year", type=int, required=True,
                        help="performance year whose claims measure specifications (claims, 2018-2025) or eCQM value "
                             "sets (EHR, 2026) the codes come from")
    parser.add_argument("--claim-lines", type=int, help="number of Medicare claim lines (exact); claims are written "
                        "only when given")
    parser.add_argument("--patients", type=int, help="EHR patients: FHIR R4 NDJSON (Bulk Data layout, one file per "
                        "resource type) in <output>/fhir/, about --encounters-per-patient encounters each, codes from "
                        "the year's eCQM value sets")
    parser.add_argument("--ehr-format", choices=("fhir", "tables", "both"), default="fhir",
                        help="EHR data as FHIR NDJSON in <output>/fhir/ (`mips run --fhir`), as the flat clinical "
                             "tables in <output>/clinical/ in --format (`mips run --clinical-dir`), or both, from the "
                             "same generated practice (default fhir)")
    parser.add_argument("--encounters-per-patient", type=float, default=10.0,
                        help="mean EHR encounters per patient in the year (default 10)")
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

    if args.claim_lines is None and args.patients is None:
        raise PipelineError("give --claim-lines (claims) and/or --patients (EHR as FHIR)")
    if args.claim_lines is not None and args.claim_lines < 1:
        raise PipelineError("--claim-lines must be at least 1")
    if args.patients is not None and args.patients < 1:
        raise PipelineError("--patients must be at least 1")
    if not 0 < args.encounters_per_patient <= 100:
        raise PipelineError("--encounters-per-patient must be above 0 and at most 100")
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
    from transforms.reference import attach_reference

    attach_reference(con)
    print(f"mips generate: performance year {args.performance_year}, seed {args.seed}")
    if args.patients is not None:
        _generate_ehr(con, args)
    if args.claim_lines is not None:
        _generate_claims(con, args)
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


def _generate_ehr(con, args) -> None:
    from transforms.generate.ehr import build_ehr, write_ndjson

    has_value_sets = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ref' "
                                 "AND table_name = 'ecqm_value_set_codes'").fetchone()[0]
    if not has_value_sets:
        raise PipelineError("the compiled eCQM value sets (data/reference/ecqm_value_set_codes.parquet) are not in "
                            "this build; EHR data cannot be generated")
    if args.performance_year != 2026:
        # the value sets are those of the 2026 eCQM test decks: codes for another year would be another year's
        raise PipelineError(f"EHR data is generated for performance year 2026 only (the eCQM value sets compiled "
                            f"are 2026's), not {args.performance_year}")
    try:
        generated = build_ehr(con, performance_year=args.performance_year, patients=args.patients,
                              encounters_per_patient=args.encounters_per_patient, seed=args.seed)
    except ValueError as error:
        raise PipelineError(str(error)) from None
    ehr_format = getattr(args, "ehr_format", "fhir")
    # the flat tables are the FHIR resources converted (transforms/fhir_to_tables.py): the same practice either way
    folder = args.output / "fhir" if ehr_format != "tables" else Path(tempfile.mkdtemp(prefix="mips-generate-fhir-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if ehr_format != "tables":
            print(f"  EHR: {args.patients:,} patients as FHIR R4 NDJSON")
        for rtype, view in generated.views.items():
            path = folder / f"{rtype}.ndjson"
            written = write_ndjson(con, view, path)
            if ehr_format != "tables":
                print(f"  {path}  {written:,} resources")
        if ehr_format != "fhir":
            from mips.commands.convert import fhir_to_tables

            print(f"  EHR: {args.patients:,} patients as flat clinical tables ({args.format})")
            dest = args.output / "clinical"
            for name, rows in fhir_to_tables(folder, dest, args.format).items():
                print(f"  {dest / f'{name}.{args.format}'}  {rows:,} rows")
    finally:
        if ehr_format == "tables":
            shutil.rmtree(folder, ignore_errors=True)


def _generate_claims(con, args) -> None:
    from transforms.generate import build_synthetic_inputs

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
    print(f"  claims: {len(generated.targeted_measures)} claims measures targeted")
    for name, view in generated.tables.items():
        path = args.output / f"{name}.{args.format}"
        tmp = path.with_name(path.name + ".tmp")
        # COPY answers with the number of rows it wrote; the file appears complete or not at all.
        rows = con.execute(f"COPY (SELECT * FROM {view}) TO {sql_literal(tmp.as_posix())} ({options})").fetchall()[0][0]
        tmp.replace(path)
        print(f"  {path}  {rows:,} rows")
    for measure_id, why in generated.untargeted_measures:
        print(f"  measure {measure_id} not targeted: {why}")
