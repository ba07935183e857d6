"""`mips backfill 2019 2025`: run several performance years in turn through the period flow."""
from __future__ import annotations

import argparse
from pathlib import Path

from mips.errors import PipelineError

NAME = "backfill"
HELP = "Run the pipeline for each performance year FIRST..LAST in turn (one flow run per year)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("first_year", type=int, help="first performance year, e.g. 2019")
    parser.add_argument("last_year", type=int, help="last performance year, e.g. 2025")
    parser.add_argument("--input-dir", required=True,
                        help="folder of the input files <table>.csv/.parquet; {year} is replaced by each year "
                             "(e.g. data/inputs/{year}); without {year} every year reads the same folder. Score inputs "
                             "(entity_input.csv, virtual_group_input.csv, apm_participation_input.csv, "
                             "mvp_registration_input.csv, ...: docs/operations.md) are read from it per year")
    parser.add_argument("--output", type=Path, default=Path("out"), help="output folder (default out/)")
    parser.add_argument("--level", dest="levels", action="append", choices=["individual", "group"],
                        help="measure level to compute (repeatable; default both)")
    parser.add_argument("--default-tin", metavar="TIN", help="TIN for EHR encounters (the input folder's fhir/ or "
                        "clinical/) that name none (without it such data fails the run)")
    parser.add_argument("--default-npi", metavar="NPI", help="NPI for EHR encounters that name none")
    parser.add_argument("--max-rejected-percent", type=float, default=5.0,
                        help="stop a year's run when more than this percent of any file's rows are rejected")


def run(args) -> int:
    if args.last_year < args.first_year:
        raise PipelineError(f"the last year ({args.last_year}) is before the first ({args.first_year})")
    if args.last_year - args.first_year > 20:
        raise PipelineError("at most 21 years in one backfill")
    from flows.period import backfill_flow, console_logs, prefect_server_for_this_process

    # Prefect's own console lines (and a failed year's traceback) only with --verbose: each year's
    # outcome is one line, and a failure ends in the command's one-line error
    with console_logs(args.verbosity == "verbose"), prefect_server_for_this_process():
        outcome = backfill_flow(first_year=args.first_year, last_year=args.last_year, input_dir=args.input_dir,
                                output=str(args.output), levels=args.levels,
                                max_rejected_percent=args.max_rejected_percent, default_tin=args.default_tin,
                                default_npi=args.default_npi)
    if args.verbosity == "quiet":
        for year, result in outcome.items():
            if result != "published":
                print(f"performance year {year}: {result}")
    print(f"Outputs in {args.output} (query them with: mips sql --output {args.output} \"select ...\")")
    return 0
