"""Shared fixtures: every registered task id."""

from __future__ import annotations

import pytest

import embodia  # noqa: F401  (registers the tasks; picks the headless GL backend)
from embodia.envs.tasks.registry import TASKS

TASK_IDS = list(TASKS)


@pytest.fixture(params=TASK_IDS)
def task_id(request) -> str:
    return request.param
