"""`mips demo`: the pipeline on the bundled synthetic sample (the README's quick start), then on a generated
practice's EHR data as FHIR and as the same practice's flat clinical tables (the eCQM path, performance year
2026), showing that both inputs give the same measure_populations."""
from __future__ import annotations

import argparse
from pathlib import Path

from mips.paths import REFERENCE_DIR, SAMPLE_DIR

NAME = "demo"
HELP = "Run the pipeline on the bundled sample data and on a generated EHR (FHIR) practice, and print summaries"
SAMPLE_YEAR = 2024
EHR_YEAR = 2026
EHR_PATIENTS = 2000


def sample_arguments(output: Path) -> list[str]:
    # the sample's files carry the standard input names, so the folder is enough
    return ["run", "--performance-year", str(SAMPLE_YEAR), "--input-dir", str(SAMPLE_DIR), "--output", str(output)]


def ehr_arguments(output: Path) -> tuple[list[str], list[str], list[str]]:
    """(mips generate, mips run --fhir, mips run --clinical-dir) arguments of the EHR part: a deterministic practice
    written both ways, then a run of each (the flat tables' run into <output>-ehr-tables)."""
    fhir_input = output.with_name(output.name + "-ehr-input")
    generate = ["generate", "--performance-year", str(EHR_YEAR), "--patients", str(EHR_PATIENTS), "--seed",
                str(EHR_YEAR), "--ehr-format", "both", "--output", str(fhir_input)]
    run = ["run", "--performance-year", str(EHR_YEAR), "--fhir", str(fhir_input / "fhir"), "--output", str(output)]
    tables = ["run", "--performance-year", str(EHR_YEAR), "--clinical-dir", str(fhir_input / "clinical"),
              "--output", str(tables_output(output))]
    return generate, run, tables


def tables_output(output: Path) -> Path:
    return output.with_name(output.name + "-ehr-tables")


def same_populations(fhir_output: Path, tables_output_: Path) -> tuple[int, int, bool]:
    """(FHIR run's measure_populations rows, flat run's rows, identical row for row)."""
    import duckdb

    def rows(out: Path) -> list[tuple]:
        return duckdb.connect().execute(
            f"SELECT * EXCLUDE (source) FROM read_parquet('{(out / 'measure_populations').as_posix()}/**/*.parquet', "
            f"hive_partitioning = true) WHERE performance_year = {EHR_YEAR} ORDER BY ALL").fetchall()
    fhir, flat = rows(fhir_output), rows(tables_output_)
    return len(fhir), len(flat), fhir == flat


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, default=Path("out/quickstart"),
                        help="output folder (default out/quickstart; the generated FHIR goes next to it)")
    parser.add_argument("--ehr", action=argparse.BooleanOptionalAction, default=True,
                        help="also generate a practice's EHR as FHIR and run the eCQM path (default on)")


def run(args) -> int:
    from mips.cli import main
    argv = sample_arguments(args.output)
    if args.verbosity in ("quiet", "verbose"):
        argv.append(f"--{args.verbosity}")
    if args.verbosity != "quiet":
        print("mips " + " ".join(argv))
    status = main(argv)
    if status or not args.ehr:
        return status
    if not (REFERENCE_DIR / "ecqm_value_set_codes.parquet").exists():
        print("\nEHR part skipped: the compiled eCQM value sets (data/reference/ecqm_value_set_codes.parquet) "
              "are not in this build")
        return status
    if args.verbosity != "quiet":
        print()
    for argv in ehr_arguments(args.output):
        if args.verbosity in ("quiet", "verbose"):
            argv.append(f"--{args.verbosity}")
        if args.verbosity != "quiet":
            print("mips " + " ".join(argv))
        status = main(argv)
        if status:
            return status
    fhir_rows, table_rows, same = same_populations(args.output, tables_output(args.output))
    if args.verbosity != "quiet":
        print(f"\nmeasure_populations: FHIR run {fhir_rows:,} rows, flat clinical tables run {table_rows:,} rows: "
              f"{'identical row for row' if same else 'DIFFERENT'}")
    return 0 if same else 1
