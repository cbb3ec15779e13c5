"""Shared fixtures: every registered task id; SB3's default log folders kept inside pytest's temporary tree."""

from __future__ import annotations

import pytest

import embodia  # noqa: F401  (registers the tasks; picks the headless GL backend)
from embodia.envs.tasks.registry import TASKS

TASK_IDS = list(TASKS)


@pytest.fixture(params=TASK_IDS)
def task_id(request) -> str:
    return request.param


@pytest.fixture(autouse=True, scope="session")
def sb3_log_folder(tmp_path_factory):
    """Stock SB3 models built without a logger make an empty ``SB3-<date>`` folder in the system temp folder on
    every ``learn``; the tests that use SB3 as a user would leave theirs under pytest's temporary tree instead."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SB3_LOGDIR", str(tmp_path_factory.mktemp("sb3-logs")))
        yield
