"""`mips` command line. Subcommands live in mips/commands/, one module each."""
from __future__ import annotations

import argparse
import importlib
import sys

from mips.commands import COMMANDS
from mips.errors import PipelineError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mips", description="MIPS quality-measure pipeline")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMANDS:
        module = importlib.import_module(module_name)
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(handler=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except PipelineError as error:
        # A user-fixable problem: one line, no traceback, no patient data.
        print(f"mips {args.command}: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        from mips.fs import environment_message, is_environment_failure
        if not is_environment_failure(error):
            raise  # a bug: its traceback is what a report needs
        # the machine, not the data: disk full, permission denied, a path that cannot be used
        print(f"mips {args.command}: error: {environment_message(error, 'the file system failed')}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
