"""`mips demo`: the pipeline on the bundled synthetic sample (the README's quick start)."""
from __future__ import annotations

import argparse
from pathlib import Path

from mips.paths import SAMPLE_DIR

NAME = "demo"
HELP = "Run the pipeline on the bundled sample data and print a summary"
SAMPLE_YEAR = 2024


def sample_arguments(output: Path) -> list[str]:
    argv = ["run", "--performance-year", str(SAMPLE_YEAR), "--output", str(output)]
    for table, option in [("medical_claim", "--medical-claim"), ("eligibility", "--eligibility"),
                          ("patient", "--patient"), ("encounter", "--encounter"), ("condition", "--condition"),
                          ("procedure", "--procedure"), ("clinician_roster", "--roster"), ("pi_input", "--pi"),
                          ("ia_input", "--ia"), ("cost_input", "--cost")]:
        path = SAMPLE_DIR / f"{table}.csv"
        if path.exists():
            argv += [option, str(path)]
    return argv


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, default=Path("out/quickstart"),
                        help="output folder (default out/quickstart)")


def run(args) -> int:
    from mips.cli import main
    argv = sample_arguments(args.output)
    print("mips " + " ".join(argv))
    return main(argv)
