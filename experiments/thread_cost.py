"""What NutBolt's thread costs per physics step: raw ``mj_step`` from states of the expert's own episode.

    python experiments/thread_cost.py

The nut is on the bench (no thread contact), then screwed down the bolt (the nut's 36 ridge capsules resting on the
bolt's). Each rate is the best of three timed windows of 2,000 steps from that state, on one ``MjData``;
PegInsertion's peg in its hole is the comparison. Also printed: contacts in each state and the expert's env
steps/s over a whole episode (single env, 25 substeps of 2 ms).
"""

from __future__ import annotations

import time

import mujoco
import numpy as np

import embodia  # noqa: F401  (headless GL backend before mujoco loads)
from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import make_batched

WINDOW_STEPS = 2_000


def expert_states(task_id: str, seed: int = 0) -> tuple[list[np.ndarray], list[dict], float, mujoco.MjModel]:
    env = make_batched(task_id, 1)
    expert = make_expert(task_id, 1)
    obs, info = env.reset(seeds=[seed])
    expert.reset(np.arange(1))
    states, infos = [], []
    started = time.perf_counter()
    for _ in range(env.config.episode_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        states.append(env.sim.state(0))
        infos.append(info)
        if terminated[0] or truncated[0]:
            break
    rate = len(states) / (time.perf_counter() - started)
    model = env.model
    env.close()
    return states, infos, rate, model


def raw_rate(model: mujoco.MjModel, state: np.ndarray) -> tuple[float, int]:
    """(physics steps/s, contacts) of ``mj_step`` from ``state``, controls held."""
    data = mujoco.MjData(model)
    best = 0.0
    for _ in range(3):
        mujoco.mj_setState(model, data, state, mujoco.mjtState.mjSTATE_INTEGRATION)
        mujoco.mj_forward(model, data)
        contacts = data.ncon
        started = time.perf_counter()
        for _ in range(WINDOW_STEPS):
            mujoco.mj_step(model, data)
        best = max(best, WINDOW_STEPS / (time.perf_counter() - started))
    return best, contacts


def main() -> None:
    print("| state | contacts | raw physics steps/s | us per physics step |")
    print("|---|---:|---:|---:|")
    states, infos, nut_rate, model = expert_states("embodia/NutBolt-v0")
    on_bench, bench_contacts = raw_rate(model, states[5])
    screwing = next(k for k, info in enumerate(infos) if info["turns_down"][0] > 1.0)
    threaded, thread_contacts = raw_rate(model, states[screwing])
    print(f"| NutBolt, nut on the bench | {bench_contacts} | {on_bench:,.0f} | {1e6 / on_bench:.0f} |")
    print(f"| NutBolt, nut a turn down the thread | {thread_contacts} | {threaded:,.0f} | {1e6 / threaded:.0f} |")
    peg_states, peg_infos, peg_rate, peg_model = expert_states("embodia/PegInsertion-v0")
    inserted = next(k for k, info in enumerate(peg_infos) if info["insertion_depth_m"][0] > 0.01)
    peg, peg_contacts = raw_rate(peg_model, peg_states[inserted])
    print(f"| PegInsertion, peg in the hole | {peg_contacts} | {peg:,.0f} | {1e6 / peg:.0f} |")
    print()
    print(f"expert episode, env steps/s: NutBolt {nut_rate:,.0f}, PegInsertion {peg_rate:,.0f}")


if __name__ == "__main__":
    main()
