"""`mips` command line. Subcommands live in mips/commands/, one module each."""
from __future__ import annotations

import argparse
import importlib
import sys

from mips.commands import COMMANDS
from mips.errors import PipelineError


def version_text() -> str:
    """Package version and the checkout's code version (git describe), as run manifests record it."""
    from importlib.metadata import PackageNotFoundError, version

    from mips.store import code_version

    try:
        package = version("mips-pipeline")
    except PackageNotFoundError:  # running from a checkout that was never installed
        package = "unknown"
    code = code_version()
    return f"mips {package}" + (f" (code {code})" if code and code != package else "")


class _VersionAction(argparse.Action):
    """--version without importing the store unless asked (the parser is built on every call)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


def _output_options() -> argparse.ArgumentParser:
    """--quiet / --verbose, accepted by every subcommand (`mips run --quiet ...`)."""
    common = argparse.ArgumentParser(add_help=False)
    talk = common.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const="quiet",
                      help="print only errors and a one-line result (no progress)")
    talk.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const="verbose",
                      help="also print each file's rows per second and Prefect's own log lines")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mips", description="MIPS quality-measure pipeline")
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _output_options()
    for module_name in COMMANDS:
        module = importlib.import_module(module_name)
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP, parents=[common])
        module.add_arguments(command)
        command.set_defaults(handler=module.run, verbosity="normal")
    return parser


def main(argv: list[str] | None = None) -> int:
    from mips import progress

    args = build_parser().parse_args(argv)
    args.verbosity = args.verbosity or "normal"
    progress.configure(args.verbosity)
    try:
        from mips.db import with_memory_limit  # --memory-limit (run, score) reaches every DuckDB the command opens
        return int(with_memory_limit(args.handler, getattr(args, "memory_limit", None))(args) or 0)
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
    finally:
        progress.configure("off")


if __name__ == "__main__":
    sys.exit(main())
