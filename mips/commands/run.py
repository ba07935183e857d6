"""`mips run`: the pipeline end to end for one reporting period, through the Prefect flow.

No Prefect server is needed: without PREFECT_API_URL, Prefect starts a temporary one for the run
(about 13 s); with it, the run shows in that server's UI.
"""
from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

NAME = "run"
HELP = "Run the pipeline for one reporting period: ingest and validate, then measures and scores"

# --option -> input contract it is read as
INPUT_OPTIONS = {
    "medical_claim": "Medicare Part B claim lines (CSV or Parquet)",
    "eligibility": "enrollment spans with birth date and gender",
    "patient": "EHR patients (encounter extract)",
    "encounter": "EHR encounters (all payers)",
    "condition": "EHR diagnoses of encounters",
    "procedure": "EHR procedures and quality data codes of encounters",
    "clinician_roster": "TIN/NPI roster with clinician type and special-status flags",
    "pi_input": "Promoting Interoperability numerators/denominators/attestations",
    "ia_input": "improvement activities attested",
    "cost_input": "cost measure values and case counts",
}
OPTION_NAMES = {"clinician_roster": "roster", "pi_input": "pi", "ia_input": "ia", "cost_input": "cost"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--performance-year", type=int, required=True, help="MIPS performance year, e.g. 2024")
    parser.add_argument("--period-start", type=date.fromisoformat, help="first day of the reporting period "
                        "(default: January 1 of the performance year)")
    parser.add_argument("--period-end", type=date.fromisoformat, help="last day (default: December 31)")
    for table, help_text in INPUT_OPTIONS.items():
        parser.add_argument(input_option(table), dest=table, type=Path, help=help_text)
    parser.add_argument("--output", type=Path, required=True, help="output folder (Parquet tables by performance year)")
    parser.add_argument("--max-rejected-percent", type=float, default=5.0,
                        help="fail the run when more than this percent of any file's rows are rejected (default 5)")
    parser.add_argument("--allow-empty", action="store_true",
                        help="publish even when the claims look like another period's (most lines dated outside the "
                             "year, or no claims measure with an eligible instance); without it such a run fails")
    parser.add_argument("--without-prefect", action="store_true",
                        help="run the same steps without Prefect (no temporary server, no run in the UI, no artifact)")


def input_option(table: str) -> str:
    """The command-line option of an input table, e.g. --medical-claim, --roster."""
    return "--" + OPTION_NAMES.get(table, table).replace("_", "-")


def input_files(args) -> dict[str, Path]:
    from mips.period import check_inputs

    # checked here too, so a missing file set fails before Prefect starts its temporary server
    return check_inputs({table: getattr(args, table) for table in INPUT_OPTIONS
                         if getattr(args, table, None) is not None})


def run(args) -> int:
    from mips.period import Period

    period = Period.of(args.performance_year, args.period_start, args.period_end)  # a bad period fails before Prefect starts
    if args.without_prefect:
        from mips.period import run_period_steps as run_period
    else:
        from flows.period import run_period_flow as run_period
    report = run_period(performance_year=period.performance_year, period_start=period.start, period_end=period.end,
                        files=input_files(args), output_root=args.output,
                        max_rejected_percent=args.max_rejected_percent, allow_empty=args.allow_empty)
    print(report)
    return 0
