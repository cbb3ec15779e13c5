"""What each particle of water costs: Drinking built with 1, 5, 10 and 20 water spheres, stepped by its expert.

    python experiments/particle_cost.py
    python experiments/particle_cost.py --counts 1 20 --steps 400

Drinking's water is ``particle_count`` frictionless 5 mm spheres on a grid in the cup (``envs/tasks/care/
drinking.py``). For each count the same task class is built with the first k grid places, and its scripted expert
(which tilts the cup at the mouth, so that the spheres pour and collide) runs one simulation for ``--steps``
control steps; the script reports the raw physics (``mj_step`` on the task's model from the same recorded states:
contacts and constraint solving, no Python), the env step through ``BatchedEnv.step`` and, from a linear fit over
the counts, the cost per particle in microseconds per control step, beside Feeding's full step for scale (the
issue's yardstick: Drinking at least half of Feeding's rate).
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import mujoco
import numpy as np

from embodia.agents.experts import expert_class
from embodia.commands.common import positive_int
from embodia.envs.core.batched_env import BatchedEnv, make_batched
from embodia.envs.tasks.care.drinking import Drinking


def with_particles(count: int) -> type[Drinking]:
    """Drinking with the first ``count`` places of its water grid filled."""

    def particle_layout(self: Drinking) -> np.ndarray:
        return Drinking.particle_layout(self)[:count]

    return type(f"Drinking{count}", (Drinking,), {"particle_count": count, "particle_layout": particle_layout})


def timed_expert_run(env: BatchedEnv, env_id: str, steps: int) -> tuple[float, list[np.ndarray]]:
    """µs per env step of the expert's episode (resets not timed), and the states it passed through."""
    expert = expert_class(env_id)(1)
    obs, info = env.reset(seeds=[0])
    expert.reset(np.array([0]), 0)
    states, elapsed = [], 0.0
    for _ in range(steps):
        action = expert.act(obs, info)
        states.append(env.sim.states()[0])
        start = time.perf_counter()
        obs, _, terminated, truncated, info = env.step(action)
        elapsed += time.perf_counter() - start
        if terminated[0] or truncated[0]:
            obs, info = env.reset(seeds=[0])
            expert.reset(np.array([0]), 0)
    return elapsed / steps * 1e6, states


def raw_physics_us(env: BatchedEnv, states: list[np.ndarray]) -> float:
    """µs per control step of plain ``mj_step`` from each recorded state (the env's substeps, no Python around)."""
    model = copy.copy(env.model)
    env.sim.batch.get_model(0, model)  # simulation 0's own values (the episode's masses, the person's shape)
    data = mujoco.MjData(model)
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    substeps = env.sim.substeps
    elapsed = 0.0
    for state in states:
        mujoco.mj_setState(model, data, state, spec)
        start = time.perf_counter()
        for _ in range(substeps):
            mujoco.mj_step(model, data)
        elapsed += time.perf_counter() - start
    return elapsed / len(states) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", nargs="+", type=int, default=[1, 5, 10, 20])
    parser.add_argument(
        "--steps", type=positive_int, default=240, help="control steps per count (one Drinking episode)"
    )
    args = parser.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    if any(k < 1 or k > 20 for k in args.counts):
        parser.error(f"--counts must be between 1 and 20 (the places of the water grid), got {args.counts}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; one simulation, the expert's actions")
    print("| water spheres | raw physics µs per control step | env step µs | env steps/s |")
    print("|---:|---:|---:|---:|")
    raw, full = [], []
    for count in args.counts:
        env = BatchedEnv(with_particles(count), 1)
        try:
            env_us, states = timed_expert_run(env, "embodia/Drinking-v0", args.steps)
            raw_us = raw_physics_us(env, states)
        finally:
            env.close()
        raw.append(raw_us)
        full.append(env_us)
        print(f"| {count} | {raw_us:,.0f} | {env_us:,.0f} | {1e6 / env_us:,.0f} |", flush=True)
    if len(args.counts) > 1:
        raw_slope = np.polyfit(args.counts, raw, 1)[0]
        env_slope = np.polyfit(args.counts, full, 1)[0]
        print(f"per water sphere: {raw_slope:.1f} µs of physics and {env_slope:.1f} µs of env step per control step")
    feeding = make_batched("embodia/Feeding-v0", 1)
    try:
        feeding_us, _ = timed_expert_run(feeding, "embodia/Feeding-v0", args.steps)
    finally:
        feeding.close()
    print(f"Feeding (3 food particles), its expert: {feeding_us:,.0f} µs per env step ({1e6 / feeding_us:,.0f}/s); "
          f"Drinking with {args.counts[-1]} spheres runs at {feeding_us / full[-1]:.2f} of Feeding's rate")  # fmt: skip


if __name__ == "__main__":
    main()
