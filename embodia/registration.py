"""Gymnasium registration of every task in the envs' registry (``embodia.envs.tasks.registry``)."""

from __future__ import annotations

import gymnasium as gym

from embodia.envs.core.single_env import EmbodiaEnv
from embodia.envs.core.vector_env import EmbodiaVectorEnv
from embodia.envs.tasks.registry import TASKS


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
            entry_point=EmbodiaEnv,
            vector_entry_point=EmbodiaVectorEnv,
            kwargs={"task": env_id},
        )
