"""Figures computed once per simulation state: a task's evaluation, reward, observation and privileged state
ask for the same poses within one step, and each recomputation is a dozen numpy calls on small arrays."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from embodia.envs.physics.sim import Simulation

Result = TypeVar("Result")


def once_per_state(method: Callable[[Any, Simulation], Result]) -> Callable[[Any, Simulation], Result]:
    """Cache ``method(self, sim)`` until the simulations change (``sim.generation``: forward, step, reset, a
    loaded state). Callers get the same arrays back and must not modify them."""
    slot = f"_per_state_{method.__name__}"

    @functools.wraps(method)
    def cached(self: Any, sim: Simulation) -> Result:
        key = (id(sim), sim.generation)
        hit = self.__dict__.get(slot)
        if hit is not None and hit[0] == key:
            return hit[1]
        result = method(self, sim)
        self.__dict__[slot] = (key, result)
        return result

    return cached
