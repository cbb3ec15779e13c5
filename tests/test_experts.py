"""The scripted experts solve their tasks through the action space (measured on a seed sample).

The README's figures over 200 seeds come from `embodia run TASK --policy expert --episodes 200`.
"""

import numpy as np
import pytest

from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import make_batched
from embodia.envs.tasks.registry import TASKS

SEEDS = 16


@pytest.mark.parametrize("task_id", list(TASKS))
def test_expert_success_on_a_seed_sample(task_id):
    env = make_batched(task_id, SEEDS)
    expert = make_expert(task_id, SEEDS)
    obs, info = env.reset(seeds=list(range(10_000, 10_000 + SEEDS)))
    expert.reset(np.arange(SEEDS))
    done = np.zeros(SEEDS, dtype=bool)
    success = np.zeros(SEEDS, dtype=bool)
    for _ in range(env.config.episode_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        success |= ~done & info["success"]
        done |= terminated | truncated
        if done.all():
            break
    assert success.sum() >= SEEDS - 1, f"{task_id}: {success.sum()}/{SEEDS}"


def test_random_policy_rarely_succeeds():
    env = make_batched("embodia/BinPicking-v0", 8)
    env.reset(seeds=list(range(8)))
    rng = np.random.default_rng(0)
    success = np.zeros(8, dtype=bool)
    for _ in range(60):
        _, _, _, _, info = env.step(rng.uniform(-1, 1, size=(8, 7)))
        success |= info["success"]
    assert not success.any()
