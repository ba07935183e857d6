"""`mips run`: the pipeline end to end for one reporting period, through the Prefect flow.

No Prefect server is needed: without PREFECT_API_URL, Prefect starts a temporary one for the run
(about 13 s); with it, the run shows in that server's UI.
"""
from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from mips.db import MEMORY_LIMIT_HELP, memory_limit_argument
from mips.period import STANDARD_INPUTS

NAME = "run"
HELP = "Run the pipeline for one reporting period: ingest and validate, then measures and scores"

# --option -> input contract it is read as: the one table of standard inputs (mips/period.py)
INPUT_OPTIONS = {item.name: item.description for item in STANDARD_INPUTS}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--performance-year", type=int, required=True, help="MIPS performance year, e.g. 2024")
    parser.add_argument("--period-start", type=date.fromisoformat, help="first day of the reporting period "
                        "(default: January 1 of the performance year)")
    parser.add_argument("--period-end", type=date.fromisoformat, help="last day (default: December 31)")
    parser.add_argument("--input-dir", type=Path,
                        help="folder holding the inputs under their standard names (medical_claim.csv, "
                             "eligibility.parquet, ...: see docs/operations.md); a file option below overrides "
                             "the folder's file of that input")
    for item in STANDARD_INPUTS:
        parser.add_argument(item.option, dest=item.name, type=Path, help=item.description)
    from mips.score_inputs import add_score_input_options

    # the score inputs of `mips score` (one list, mips/score_inputs.py): --entities, --virtual-groups, --apm, ...
    add_score_input_options(parser, skip=set(INPUT_OPTIONS))
    parser.add_argument("--default-tin", metavar="TIN", help="TIN for FHIR encounters whose serviceProvider "
                        "Organization has no TIN identifier (without it such data fails the run)")
    parser.add_argument("--default-npi", metavar="NPI", help="NPI for FHIR encounters with no participant "
                        "Practitioner NPI (without it such data fails the run)")
    parser.add_argument("--output", type=Path, required=True, help="output folder (Parquet tables by performance year)")
    parser.add_argument("--max-rejected-percent", type=float, default=5.0,
                        help="fail the run when more than this percent of any file's rows are rejected (default 5)")
    parser.add_argument("--allow-empty", action="store_true",
                        help="publish even when the claims look like another period's (most lines dated outside the "
                             "year, or no claims measure with an eligible instance); without it such a run fails")
    parser.add_argument("--scaling-factor", type=float,
                        help="budget-neutrality scaling factor for positive adjustments (0 < SF <= 3), as mips score; "
                             "without it an unpublished factor makes the positive adjustment a range")
    parser.add_argument("--exceptional-scaling-factor", type=float,
                        help="scaling factor of the exceptional performance adjustment, PY2017-2022 (0 <= ESF <= 1)")
    parser.add_argument("--memory-limit", type=memory_limit_argument, metavar="SIZE", help=MEMORY_LIMIT_HELP)
    parser.add_argument("--without-prefect", action="store_true",
                        help="run the same steps without Prefect (no temporary server, no run in the UI, no artifact)")
    parser.add_argument("--shards", type=int, metavar="K",
                        help="split measures and scores into K shards by a stable hash of the TIN (claims by their "
                             "billing TIN, EHR patients by the TINs they are attributed to, whole) and run them as "
                             "Prefect tasks on a Dask cluster; ingest, validation and the one atomic publish stay in "
                             "this process, and the outputs are the same as without shards (docs/operations.md). "
                             "With --without-prefect the shards run one after another here")
    parser.add_argument("--dask-address", metavar="ADDRESS",
                        help="scheduler of a running Dask cluster for --shards, e.g. tcp://scheduler:8786 (its "
                             "workers must see the input files and the output folder at the same paths); without "
                             "it a local cluster of min(K, CPUs) single-threaded worker processes is started")


def input_option(table: str) -> str:
    """The command-line option of an input table, e.g. --medical-claim, --roster."""
    return next(item.option for item in STANDARD_INPUTS if item.name == table)


def inputs_of(args) -> tuple[dict[str, Path], object]:
    """(contract files, EHR input) of the command line: the --input-dir folder's standard inputs, overridden by
    the file options; its fhir/ and clinical/ folders (or --fhir / --clinical-dir) are the EHR input."""
    from mips.period import check_inputs, find_inputs, split_ehr
    from mips.score_inputs import check_score_inputs, score_files_of

    files = find_inputs(args.input_dir) if getattr(args, "input_dir", None) is not None else {}
    files.update({table: getattr(args, table) for table in INPUT_OPTIONS if getattr(args, table, None) is not None})
    files.update({table: path for table, path in score_files_of(args).items() if table not in INPUT_OPTIONS})
    files, ehr = split_ehr(files, getattr(args, "default_tin", None), getattr(args, "default_npi", None))
    # checked here too, so a missing file set fails before Prefect starts its temporary server
    files = check_inputs(files, ehr)
    if getattr(args, "performance_year", None) is not None:
        check_score_inputs(args.performance_year, files)
    return files, ehr


def input_files(args) -> dict[str, Path]:
    return inputs_of(args)[0]


def run(args) -> int:
    from mips.period import Period

    period = Period.of(args.performance_year, args.period_start, args.period_end)  # a bad period fails before Prefect starts
    from transforms.scoring import load_rules
    from transforms.scoring.engine import check_scaling_factors

    check_scaling_factors(load_rules(period.performance_year), args.scaling_factor, args.exceptional_scaling_factor)
    from mips.sharded import check_shards

    shards, dask_address = getattr(args, "shards", None), getattr(args, "dask_address", None)
    check_shards(shards, dask_address)
    sharding = {}
    if args.without_prefect and dask_address:
        from mips.errors import PipelineError
        raise PipelineError("--dask-address runs the shards as Prefect tasks; drop --without-prefect")
    if args.without_prefect and shards:
        from functools import partial

        from mips.sharded import run_sharded_steps
        run_period = partial(run_sharded_steps, shards=shards)
    elif args.without_prefect:
        from mips.period import run_period_steps as run_period
    else:
        from flows.period import run_period_flow as run_period
        if shards:
            sharding = {"shards": shards, "dask_address": dask_address}
    files, ehr = inputs_of(args)
    if shards:
        from mips.sharded import check_shard_inputs
        check_shard_inputs(files)
    report = run_period(**sharding, performance_year=period.performance_year, period_start=period.start, period_end=period.end,
                        files=files, output_root=args.output,
                        max_rejected_percent=args.max_rejected_percent, allow_empty=args.allow_empty,
                        scaling_factor=args.scaling_factor, exceptional_scaling_factor=args.exceptional_scaling_factor,
                        ehr=ehr,
                        **({} if args.without_prefect else {"show_prefect_logs": args.verbosity == "verbose"}))
    if args.verbosity == "quiet":
        print(f"performance year {period.performance_year}: published {len(report.rows)} tables to {args.output}")
    else:
        print(report)
    return 0
