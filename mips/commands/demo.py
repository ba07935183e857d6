"""`mips demo`: the pipeline on the bundled synthetic sample (the README's quick start), then on a generated
practice's EHR data as FHIR (the eCQM path, performance year 2026)."""
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


def ehr_arguments(output: Path) -> tuple[list[str], list[str]]:
    """(mips generate, mips run) arguments of the EHR part: a deterministic practice, then its run."""
    fhir_input = output.with_name(output.name + "-ehr-input")
    generate = ["generate", "--performance-year", str(EHR_YEAR), "--patients", str(EHR_PATIENTS), "--seed",
                str(EHR_YEAR), "--output", str(fhir_input)]
    run = ["run", "--performance-year", str(EHR_YEAR), "--fhir", str(fhir_input / "fhir"), "--output", str(output)]
    return generate, run


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
    return status
