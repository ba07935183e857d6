"""`mips demo`: the pipeline on the bundled synthetic sample (the README's quick start)."""
from __future__ import annotations

import argparse
from pathlib import Path

from mips.commands.run import INPUT_OPTIONS, input_option
from mips.paths import SAMPLE_DIR

NAME = "demo"
HELP = "Run the pipeline on the bundled sample data and print a summary"
SAMPLE_YEAR = 2024


def sample_arguments(output: Path) -> list[str]:
    argv = ["run", "--performance-year", str(SAMPLE_YEAR), "--output", str(output)]
    for table in INPUT_OPTIONS:
        path = SAMPLE_DIR / f"{table}.csv"
        if path.exists():
            argv += [input_option(table), str(path)]
    return argv


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, default=Path("out/quickstart"),
                        help="output folder (default out/quickstart)")


def run(args) -> int:
    from mips.cli import main
    argv = sample_arguments(args.output)
    print("mips " + " ".join(argv))
    return main(argv)
