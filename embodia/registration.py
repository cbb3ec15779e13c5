"""Gymnasium registration of every task in the envs' registry (``embodia.envs.tasks.registry``)."""

from __future__ import annotations

import gymnasium as gym

from embodia.envs.core.single_env import EmbodiaEnv
from embodia.envs.core.vector_env import EmbodiaVectorEnv
from embodia.envs.tasks.registry import TASKS

# Gymnasium serialises an env's spec (Minari stores it with a dataset) only with "module:Class" entry points,
# so the entry points are named, derived from the classes themselves
SINGLE_ENTRY_POINT = f"{EmbodiaEnv.__module__}:{EmbodiaEnv.__qualname__}"
VECTOR_ENTRY_POINT = f"{EmbodiaVectorEnv.__module__}:{EmbodiaVectorEnv.__qualname__}"


def register_all() -> None:
    """Register every task, without a ``max_episode_steps``: the envs truncate their own episodes.

    ``gymnasium.make`` would put a ``TimeLimit`` of the registered length around the env, and that wrapper cannot
    see ``episode_steps=``: ``make(id, episode_steps=500)`` would still end at the registered length. So the
    episode length lives in one place, the task config (``episode_steps``, default ``TaskSpec.episode_steps``),
    and ``gymnasium.make(id, max_episode_steps=n)`` and ``make_vec(id, max_episode_steps=n)`` set it too. A made
    env's ``spec.max_episode_steps`` reports the length in force. The entry points get the task's id.
    """
    for env_id in TASKS:
        if env_id in gym.registry:
            continue
        gym.register(
            id=env_id,
            entry_point=SINGLE_ENTRY_POINT,
            vector_entry_point=VECTOR_ENTRY_POINT,
            kwargs={"task": env_id},
        )
