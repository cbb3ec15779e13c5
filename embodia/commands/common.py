"""What every subcommand shares: the one-line usage error and argument parsers for task ids and sizes."""

from __future__ import annotations

import argparse

from embodia.envs.tasks.registry import TASKS

USAGE_ERROR = 2
#: the largest image side a command accepts (the env's own limit for render and pixel sizes)
MAX_IMAGE_SIDE = 4096


class UsageError(Exception):
    """A mistake in the command line: reported in one line with exit status 2."""


def check_task(env_id: str) -> str:
    if env_id not in TASKS:
        raise UsageError(f"unknown task {env_id!r}; valid: {', '.join(TASKS)}")
    return env_id


def size_arg(text: str) -> tuple[int, int]:
    """``HEIGHTxWIDTH`` (e.g. ``480x640``), each side 1 to ``MAX_IMAGE_SIDE``."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 480x640, got {text!r}") from None
    if not (1 <= height <= MAX_IMAGE_SIDE and 1 <= width <= MAX_IMAGE_SIDE):
        raise argparse.ArgumentTypeError(f"sizes must be 1 to {MAX_IMAGE_SIDE}, got {text!r}")
    return height, width
