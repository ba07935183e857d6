"""`mips demo`: run the pipeline on the bundled sample (the README's quick start)."""
NAME = "demo"
HELP = "Run the pipeline on the bundled sample data and print a summary"


def add_arguments(parser):
    parser.add_argument("--output", default="out/quickstart")


def run(args) -> int:
    raise NotImplementedError("being built")
