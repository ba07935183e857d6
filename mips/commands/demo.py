"""`mips demo`: the pipeline on the bundled synthetic sample (the README's quick start)."""
from __future__ import annotations

import argparse
from pathlib import Path

from mips.paths import SAMPLE_DIR

NAME = "demo"
HELP = "Run the pipeline on the bundled sample data and print a summary"
SAMPLE_YEAR = 2024


def sample_arguments(output: Path) -> list[str]:
    # the sample's files carry the standard input names, so the folder is enough
    return ["run", "--performance-year", str(SAMPLE_YEAR), "--input-dir", str(SAMPLE_DIR), "--output", str(output)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, default=Path("out/quickstart"),
                        help="output folder (default out/quickstart)")


def run(args) -> int:
    from mips.cli import main
    argv = sample_arguments(args.output)
    if args.verbosity in ("quiet", "verbose"):
        argv.append(f"--{args.verbosity}")
    if args.verbosity != "quiet":
        print("mips " + " ".join(argv))
    return main(argv)
