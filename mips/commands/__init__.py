"""One module per `mips` subcommand. Each defines ``NAME``, ``HELP``, ``add_arguments(parser)``
and ``run(args) -> int``. Register a new module in ``COMMANDS`` below."""

COMMANDS = [
    "mips.commands.score",
    "mips.commands.run",
    "mips.commands.demo",
    "mips.commands.generate",
    "mips.commands.convert",
    "mips.commands.sql",
    "mips.commands.serve",
    "mips.commands.backfill",
    "mips.commands.export",
    "mips.commands.gaps",
    "mips.commands.report",
]
