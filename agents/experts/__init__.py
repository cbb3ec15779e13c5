"""Scripted experts, one per task, acting through the ee_delta action space.

Each expert registers the task it solves where it is defined, with ``@register_expert``:

    @register_expert("embodia/Reach-v0")
    class ReachExpert: ...

The import lines at the end of this module load every expert (adding one is one line there).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T", bound=type)

#: every scripted expert class by the env id of its task
EXPERTS: dict[str, type] = {}


def register_expert(env_id: str) -> Callable[[T], T]:
    """Class decorator: register the class as the scripted expert of task ``env_id`` (built as ``cls(num_envs)``)."""

    def register(expert_cls: T) -> T:
        known = EXPERTS.get(env_id)
        if known is not None and known is not expert_cls:
            raise ValueError(f"task {env_id!r} has two experts ({known.__name__}, {expert_cls.__name__})")
        EXPERTS[env_id] = expert_cls
        return expert_cls

    return register


def expert_class(env_id: str) -> type:
    """The scripted expert class of task ``env_id``; a task without one raises KeyError naming those with one."""
    expert = EXPERTS.get(env_id) if isinstance(env_id, str) else None
    if expert is None:
        raise KeyError(f"no scripted expert for task {env_id!r}; tasks with one: {', '.join(EXPERTS)}")
    return expert


def expert_options(env_id: str) -> tuple[str, ...]:
    """The options task ``env_id``'s expert takes (its constructor's keywords beyond the batch and the timing)."""
    parameters = inspect.signature(expert_class(env_id).__init__).parameters
    return tuple(name for name in parameters if name not in ("self", "num_envs", "timing"))


def make_expert(env_id: str, num_envs: int, **options: Any) -> Any:
    """The scripted expert of task ``env_id`` for ``num_envs`` simulations, with ``options`` (``expert_options``);
    an option it does not take raises ValueError naming those it does."""
    unknown = sorted(set(options) - set(expert_options(env_id)))
    if unknown:
        valid = ", ".join(expert_options(env_id)) or "none"
        raise ValueError(f"expert option(s) {', '.join(unknown)} not valid for {env_id}'s expert; valid: {valid}")
    return expert_class(env_id)(num_envs, **options)


# isort: off
from embodia.agents.experts import bin_picking  # noqa: E402,F401
from embodia.agents.experts import peg_insertion  # noqa: E402,F401
from embodia.agents.experts import nut_bolt  # noqa: E402,F401
from embodia.agents.experts import gear_assembly  # noqa: E402,F401
from embodia.agents.experts import handover  # noqa: E402,F401
from embodia.agents.experts import blanket_cover  # noqa: E402,F401
from embodia.agents.experts import drawer_fetch  # noqa: E402,F401
from embodia.agents.experts import fetch_dropped  # noqa: E402,F401
from embodia.agents.experts import bed_bathing  # noqa: E402,F401
from embodia.agents.experts import feeding  # noqa: E402,F401
from embodia.agents.experts import drinking  # noqa: E402,F401
from embodia.agents.experts import reach  # noqa: E402,F401
from embodia.agents.experts import palletizing  # noqa: E402,F401
from embodia.agents.experts import conveyor_sort  # noqa: E402,F401
# isort: on
