"""The task registry: every task registers its env id where it is defined, with ``@register_task``.

    @register_task("embodia/Reach-v0")
    class Reach(Task): ...

A task's summary is its ``description`` and its episode length the default ``episode_steps`` of its ``Config``:
one place each. The registry lives in ``embodia.envs.tasks``, whose ``__init__`` imports every task module (one
import line per task): importing this module imports that package first, so ``TASKS`` is complete whenever it can
be read, and the layers below the tasks (physics, scene, core) never import upwards to fill it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from embodia.envs.tasks.base import Task

T = TypeVar("T", bound=type[Task])


@dataclass(frozen=True)
class TaskSpec:
    env_id: str
    task: type[Task]
    summary: str  # the task's ``description``
    episode_steps: int  # the default ``episode_steps`` of the task's config (the config is what applies)


#: every registered task by env id, in registration order (the import order of ``embodia.envs.tasks``)
TASKS: dict[str, TaskSpec] = {}


def default_episode_steps(task_cls: type[Task]) -> int:
    fields = {field.name: field for field in dataclasses.fields(task_cls.Config)}
    return int(fields["episode_steps"].default)


def register_task(env_id: str) -> Callable[[T], T]:
    """Class decorator: register the Task class as ``env_id`` (summary: its ``description``)."""

    def register(task_cls: T) -> T:
        if not (isinstance(task_cls, type) and issubclass(task_cls, Task)):
            raise TypeError(f"register_task({env_id!r}) decorates {task_cls!r}, which is not a Task class")
        if not task_cls.description:
            raise ValueError(f"{task_cls.__name__} has no description (its one-line summary)")
        known = TASKS.get(env_id)
        if known is not None and known.task is not task_cls:
            raise ValueError(f"task id {env_id!r} is registered twice ({known.task.__name__}, {task_cls.__name__})")
        TASKS[env_id] = TaskSpec(env_id, task_cls, task_cls.description, default_episode_steps(task_cls))
        return task_cls

    return register


def task_spec(env_id: str) -> TaskSpec:
    """The registered task ``env_id``; an unknown id raises, listing the valid ones."""
    spec = TASKS.get(env_id) if isinstance(env_id, str) else None
    if spec is None:
        raise KeyError(f"unknown task {env_id!r}; valid: {', '.join(TASKS)}")
    return spec


def short_name(env_id: str) -> str:
    """``embodia/BinPicking-v0`` -> ``BinPicking``: how scripts and file names call a task."""
    return env_id.split("/")[-1].rsplit("-v", 1)[0]


def resolve_task(name: str) -> str:
    """The registered id of ``name``, given as an id (``embodia/BinPicking-v0``) or a short name (``BinPicking``);
    an unknown one raises ValueError naming it and the valid short names."""
    if name in TASKS:
        return name
    by_short_name = {short_name(env_id): env_id for env_id in TASKS}
    if name not in by_short_name:
        raise ValueError(f"unknown task {name!r}; valid: {', '.join(by_short_name)} (or their ids, embodia/NAME-v0)")
    return by_short_name[name]


def env_id_of(task_cls: type[Task]) -> str | None:
    """The env id ``task_cls`` is registered as, or None."""
    return next((spec.env_id for spec in TASKS.values() if spec.task is task_cls), None)
