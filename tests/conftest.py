"""Shared fixtures: every registered task id."""

from __future__ import annotations

import sys

import pytest

import embodia  # noqa: F401  (registers the tasks; picks the headless GL backend)
from embodia.envs.tasks.registry import TASKS

TASK_IDS = list(TASKS)


@pytest.fixture(params=TASK_IDS)
def task_id(request) -> str:
    return request.param


@pytest.fixture(autouse=True)
def no_cached_video_reformatter():
    """PyAV caches a frame reformatter per thread (``VideoFrame.to_ndarray``, which the video tests call); left in
    the main thread, a child forked with a ``preexec_fn`` from another thread (Ray's, a server's) freed it and waited
    forever on its slice threads (two CI runs hung so). Dropped after each test, in the thread that made it."""
    yield
    frames = sys.modules.get("av.video.frame")
    cache = getattr(frames, "_thread_local", None)
    if cache is not None and hasattr(cache, "reformatter"):
        del cache.reformatter
