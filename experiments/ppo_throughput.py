"""PPO's training throughput: embodia's batched VecEnv (one ``mujoco.batch`` call, no subprocesses) against
stable-baselines3's ``SubprocVecEnv`` of single Gymnasium envs, the same PPO settings and task.

    python experiments/ppo_throughput.py                           # Reach, 40,960 env steps each, 2 rounds
    python experiments/ppo_throughput.py --task BinPicking --steps 20480 --workers 2 8

Env steps per second over the whole ``learn`` call (rollouts and gradient updates, as a user waits for them), the
policy the suite's PPO uses (``experiments/configs/suite/ppo.yaml``: Dict observation with the policy features,
rollouts of 4,096 transitions, 10 epochs of minibatches of 1,024). The batched env runs 64 simulations; each
SubprocVecEnv runs ``--workers`` processes with 4,096 / workers steps per rollout, so every update sees the same
amount of data. Rounds alternate the two so that machine load falls on both alike; compare ratios within a run.
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium as gym
import numpy as np
import torch

import embodia  # noqa: F401  (registers the tasks; headless GL backend)
from embodia.agents.learn.features import EXTRACTORS
from embodia.agents.learn.vec_env import EmbodiaVecEnv
from embodia.commands.common import positive_int, task_id_arg

ROLLOUT = 4096
BATCHED_SIMS = 64


def ppo(env, n_steps: int):
    from stable_baselines3 import PPO

    policy_kwargs = {"features_extractor_class": EXTRACTORS["yaw+fine"], "net_arch": [256, 256]}
    return PPO("MultiInputPolicy", env, n_steps=n_steps, batch_size=1024, n_epochs=10, seed=0, device="cpu",
               verbose=0, policy_kwargs=policy_kwargs)  # fmt: skip


def steps_per_second(env, steps: int) -> float:
    model = ppo(env, ROLLOUT // env.num_envs)
    started = time.perf_counter()
    model.learn(steps)
    elapsed = time.perf_counter() - started
    env.close()
    return steps / elapsed


def make_single(env_id: str):
    def make():

        return gym.make(env_id, obs_mode="dict")

    return make


def main(argv: list[str] | None = None) -> int:
    from stable_baselines3.common.vec_env import SubprocVecEnv

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="Reach", type=task_id_arg, help="a task name or id")
    parser.add_argument("--steps", type=positive_int, default=10 * ROLLOUT, help="env steps per measurement")
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 8], help="SubprocVecEnv process counts")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "egl")
    torch.set_num_threads(1)
    env_id = args.task
    rates: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        rate = steps_per_second(EmbodiaVecEnv(env_id, BATCHED_SIMS, 0, obs_mode="dict"), args.steps)
        rates.setdefault(f"embodia batched VecEnv, {BATCHED_SIMS} simulations", []).append(rate)
        for workers in args.workers:
            env = SubprocVecEnv([make_single(env_id) for _ in range(workers)], start_method="forkserver")
            rates.setdefault(f"SB3 SubprocVecEnv, {workers} processes", []).append(steps_per_second(env, args.steps))
    base = float(np.median(next(iter(rates.values()))))
    print(f"| {env_id}: PPO training | env steps/s (median of {args.rounds}) | batched / this |\n|---|---:|---:|")
    for name, values in rates.items():
        median = float(np.median(values))
        print(f"| {name} | {median:,.0f} | {base / median:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
