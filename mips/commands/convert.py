"""`mips convert fhir-to-tables`: a FHIR folder written as the flat clinical tables (`--clinical-dir`)."""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "convert"
HELP = ("Convert EHR input between its two forms: `fhir-to-tables` writes a FHIR R4 folder (JSON, Bundles, NDJSON) as "
        "the flat clinical tables that `mips run --clinical-dir` reads")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("conversion", choices=("fhir-to-tables",), help="what to convert")
    parser.add_argument("--fhir", type=Path, required=True, help="FHIR folder (read as `mips run --fhir` reads it)")
    parser.add_argument("--dest", type=Path, required=True, help="folder for the tables (<dest>/<table>.csv ...)")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv", help="file format (default csv)")


def run(args) -> int:
    rows = fhir_to_tables(args.fhir, args.dest, args.format)
    for name, count in rows.items():
        print(f"  {args.dest / f'{name}.{args.format}'}  {count:,} rows")
    return 0


def fhir_to_tables(fhir: Path, dest: Path, fmt: str) -> dict[str, int]:
    """Load ``fhir`` with the FHIR file layer (same validation: rejects and out-of-scope resources are not written)
    and write its resources as flat tables; rows per table."""
    import duckdb

    from transforms.fhir_files import load_fhir_dir
    from transforms.fhir_to_tables import write_tables

    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        # placeholder defaults: only the encounters' own TIN and NPI are written (fhir_named_attribution)
        load = load_fhir_dir(con, fhir, default_tin="000000001", default_npi="1234567893",
                             keep_named_attribution=True)
        rejected = sum(r[4] for r in load.by_type)
        if rejected:
            print(f"  {rejected:,} FHIR resources rejected and not written (run `mips run --fhir` for the reasons)")
        return write_tables(con, dest, fmt)
    finally:
        con.close()
