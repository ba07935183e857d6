"""`mips serve`: register the nightly and prior-year schedules with the Prefect server and run them."""
from __future__ import annotations

import argparse
from pathlib import Path

from mips.errors import PipelineError

NAME = "serve"
HELP = ("Register a nightly run of the current performance year and a monthly run of the prior year "
        "(January-March) with the Prefect server at PREFECT_API_URL, and serve them until stopped")

# Same values as flows.serve (not imported: mips must not import flows at import time).
NIGHTLY_CRON = "0 2 * * *"
PRIOR_YEAR_CRON = "0 3 1 1-3 *"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-dir", required=True,
                        help="folder of the input files <table>.csv/.parquet; {year} is replaced by the "
                             "performance year, e.g. /data/mips/{year}; score inputs (entity_input.csv, "
                             "virtual_group_input.csv, apm_participation_input.csv, ...) are read from it too "
                             "(docs/operations.md)")
    parser.add_argument("--output", type=Path, default=Path("out"), help="output folder (default out/)")
    parser.add_argument("--nightly-cron", default=NIGHTLY_CRON,
                        help=f"cron of the current-year run (default '{NIGHTLY_CRON}': 02:00 nightly)")
    parser.add_argument("--prior-year-cron", default=PRIOR_YEAR_CRON,
                        help=f"cron of the prior-year run (default '{PRIOR_YEAR_CRON}': 03:00 on the 1st of "
                             "January, February and March)")
    parser.add_argument("--timezone", default="UTC", help="time zone of both crons (default UTC)")
    parser.add_argument("--level", dest="levels", action="append", choices=["individual", "group"],
                        help="measure level to compute (repeatable; default both)")
    parser.add_argument("--default-tin", metavar="TIN", help="TIN for EHR encounters (the input folder's fhir/ or "
                        "clinical/) that name none (without it such data fails the run)")
    parser.add_argument("--default-npi", metavar="NPI", help="NPI for EHR encounters that name none")
    parser.add_argument("--max-rejected-percent", type=float, default=5.0,
                        help="stop a run when more than this percent of any file's rows are rejected (default 5)")


def server_url() -> str | None:
    """The Prefect API the schedules go to (a temporary server would forget them when this process ends)."""
    from prefect.settings import PREFECT_API_URL
    return PREFECT_API_URL.value() or None


def run(args) -> int:
    import os

    from flows.serve import build_deployments, serve_schedules

    options = dict(input_dir=os.path.abspath(args.input_dir), output=str(args.output.resolve()),
                   nightly_cron=args.nightly_cron, prior_year_cron=args.prior_year_cron, timezone=args.timezone,
                   levels=args.levels, max_rejected_percent=args.max_rejected_percent,
                   default_tin=args.default_tin, default_npi=args.default_npi)
    try:
        build_deployments(**options)  # bad crons / time zones fail here, before anything is registered
    except ValueError as error:
        raise PipelineError(str(error).splitlines()[0]) from None
    if not server_url():
        raise PipelineError("schedules need a Prefect server: start one with `prefect server start` and set "
                            "PREFECT_API_URL=http://127.0.0.1:4200/api (see docs/operations.md)")
    serve_schedules(**options)
    return 0
