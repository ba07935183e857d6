"""`mips run`: the pipeline end to end for one reporting period (filled in by the ingest step)."""
NAME = "run"
HELP = "Run the pipeline for one reporting period"


def add_arguments(parser):
    parser.add_argument("--performance-year", type=int, required=True)


def run(args) -> int:
    raise NotImplementedError("being built")
