"""What every subcommand shares: the one-line usage error and argument parsers for task ids and sizes."""

from __future__ import annotations

import argparse

from embodia.registration import TASKS

USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake in the command line: reported in one line with exit status 2."""


def check_task(env_id: str) -> str:
    if env_id not in TASKS:
        raise UsageError(f"unknown task {env_id!r}; valid: {', '.join(TASKS)}")
    return env_id


def size_arg(text: str) -> tuple[int, int]:
    """``HEIGHTxWIDTH`` (e.g. ``480x640``)."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 480x640, got {text!r}") from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return height, width
