"""The ``embodia`` command. Each subcommand lives in its own module under ``embodia.commands``.

Errors a user can fix (an unknown task, an occupied output folder, a bad camera name, a corrupt or crafted file,
a file that cannot be read or written) print one line and exit with status 2, never a traceback. ``main`` is the
last line of defence for those: ``UsageError``, ``DataFileError`` (every error about the content of a user's
episode, dataset or review file derives from it) and ``OSError`` (permissions, a full disk). Anything else is a
bug in embodia and keeps its traceback.

Every command runs under ``stop_on_signals``: SIGTERM stops it as Ctrl-C does, and either ends in one line
(``embodia: stopped by SIGTERM``, plus what the command leaves behind when its parser sets ``on_stop``) with exit
status 128 + the signal's number.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import embodia
from embodia.commands.common import USAGE_ERROR, UsageError
from embodia.envs.record.episode import DataFileError, one_line
from embodia.envs.record.recorder import interrupt_exit_status, signal_name, stop_on_signals

#: modules that each ``register`` one or more subcommands, in the order ``--help`` lists them
COMMAND_MODULES = (
    "embodia.commands.tasks",
    "embodia.commands.run",
    "embodia.commands.replay",
    "embodia.commands.dataset",
    "embodia.commands.review",
    "embodia.commands.teleop",
    "embodia.commands.learn",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="embodia", description=embodia.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"embodia {embodia.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return parser


def os_error_line(error: OSError) -> str:
    """``path: reason`` for a file the command could not read or write."""
    if error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return one_line(error, limit=None)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with stop_on_signals():
            try:
                return args.handler(args)
            except KeyboardInterrupt as error:
                on_stop = getattr(args, "on_stop", None)
                print(f"embodia: stopped by {signal_name(error)}{on_stop(args) if on_stop else ''}", file=sys.stderr)
                return interrupt_exit_status(error)
    except (UsageError, DataFileError) as error:
        message = one_line(error, limit=None)
    except OSError as error:
        message = os_error_line(error)
    print(f"embodia: error: {message}", file=sys.stderr)
    return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
