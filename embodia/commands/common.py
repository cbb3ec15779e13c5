"""What every subcommand shares: the one-line usage error and argument parsers for task ids and sizes."""

from __future__ import annotations

import argparse
from typing import Any

from embodia.envs.tasks.registry import TASKS, resolve_task, short_name

USAGE_ERROR = 2
#: the largest image side a command accepts (the env's own limit for render and pixel sizes)
MAX_IMAGE_SIDE = 4096


class UsageError(Exception):
    """A mistake in the command line: reported in one line with exit status 2."""


def check_task(name: str) -> str:
    """A task's id from its id or its short name (``BinPicking``), as every command takes them."""
    try:
        return resolve_task(name)
    except ValueError:
        raise UsageError(f"unknown task {name!r}; valid: {', '.join(TASKS)} (or their short names)") from None


def task_id_arg(text: str) -> str:
    """An argparse type: a task's id or short name (``BinPicking``), as its id; unknown ones are usage errors."""
    try:
        return resolve_task(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def task_name_arg(text: str) -> str:
    """``task_id_arg`` for scripts that name tasks by their short names (``BinPicking``)."""
    return short_name(task_id_arg(text))


def positive_int(text: str) -> int:
    """An argparse type: a count of 1 or more (episodes, simulations, steps)."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def seed_int(text: str) -> int:
    """An argparse type: a seed, 0 or more (numpy's generators refuse negative ones)."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a seed is 0 or more, got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def option_arg(text: str) -> tuple[str, Any]:
    """``NAME=VALUE``: a task or env option, the value read as YAML (``false``, ``150``, ``0.5``, ``[0.1, 0.2]``)."""
    import yaml

    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE such as terminate_on_success=false, got {text!r}")
    try:
        return name.strip(), yaml.safe_load(value)
    except yaml.YAMLError:
        raise argparse.ArgumentTypeError(f"the value of {text!r} is not a YAML scalar or list") from None


def size_arg(text: str) -> tuple[int, int]:
    """``HEIGHTxWIDTH`` (e.g. ``480x640``), each side 1 to ``MAX_IMAGE_SIDE``."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 480x640, got {text!r}") from None
    if not (1 <= height <= MAX_IMAGE_SIDE and 1 <= width <= MAX_IMAGE_SIDE):
        raise argparse.ArgumentTypeError(f"sizes must be 1 to {MAX_IMAGE_SIDE}, got {text!r}")
    return height, width


def add_distributed_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers``, ``--ray-address`` and ``--resume``: the same episodes spread over Ray workers."""
    parser.add_argument("--workers", type=int, default=0,
                        help="spread the episodes over N Ray workers (pip install 'embodia[distributed]'); the same "
                             "episodes and files as without")  # fmt: skip
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="join the Ray cluster at ADDR (default: Ray starts embedded on this machine)")  # fmt: skip
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted recording: keep its finished episodes"
    )


def distributed_options(args: argparse.Namespace) -> dict[str, Any]:
    """``run_episodes``'s keywords from those arguments, checked."""
    if args.workers < 0:
        raise UsageError(f"--workers must be >= 0 (0: no Ray), got {args.workers}")
    if args.ray_address is not None and args.workers == 0:
        raise UsageError("--ray-address needs --workers N (how many episodes' shares run at once)")
    return {"workers": args.workers, "ray_address": args.ray_address, "resume": args.resume}
