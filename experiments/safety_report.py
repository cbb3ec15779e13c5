"""Contact forces on the person over N scripted-expert episodes of a task with a person, per ISO/TS 15066 region.

    python experiments/safety_report.py --task embodia/Handover-v0 --episodes 200 --num-envs 16

Episode ``k`` is seeded ``seed + k`` (as in ``embodia run``), so the figures do not depend on ``--num-envs``.
Prints a markdown table: per region the largest peak force over all episodes, the mean and 95th percentile of
the per-episode peaks, the peak pressure estimate and the standard's limits; then success, transient
violations, time over the quasi-static limit and speed-limit exceedances.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np

from embodia.agents.experts import make_expert
from embodia.commands.common import positive_int, seed_int, task_id_arg
from embodia.envs.core.batched_env import make_batched
from embodia.envs.safety import iso15066


def run(task_id: str, episodes: int, num_envs: int, seed: int) -> dict[str, np.ndarray]:
    """Per-episode peak force and pressure per region (episodes, regions), per-episode flags, the control step."""
    num_envs = min(num_envs, episodes)
    env = make_batched(task_id, num_envs)
    expert = make_expert(task_id, num_envs)
    regions = iso15066.REGION_NAMES
    slot_episode = np.arange(num_envs)
    obs, info = env.reset(seeds=[seed + k for k in range(num_envs)])
    expert.reset(np.arange(num_envs))
    next_episode = num_envs
    out = {
        "force": np.zeros((episodes, len(regions))),
        "pressure": np.zeros((episodes, len(regions))),
        "success": np.zeros(episodes, dtype=bool),
        "transient_steps": np.zeros(episodes, dtype=np.int64),
        "quasi_static_steps": np.zeros(episodes, dtype=np.int64),
        "speed_steps": np.zeros(episodes, dtype=np.int64),
        "nearest_speed": np.zeros(episodes),
    }
    active = np.ones(num_envs, dtype=bool)
    while active.any():
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        safety = info["safety"]
        live = np.flatnonzero(active)
        episode = slot_episode[live]
        force = np.stack([safety["force_n"][r] for r in regions], axis=1)
        pressure = np.stack([safety["pressure_n_per_cm2"][r] for r in regions], axis=1)
        out["force"][episode] = np.maximum(out["force"][episode], force[live])
        out["pressure"][episode] = np.maximum(out["pressure"][episode], pressure[live])
        out["transient_steps"][episode] += safety["transient_exceeded"][live]
        out["quasi_static_steps"][episode] += safety["quasi_static_exceeded"][live]
        out["speed_steps"][episode] += safety["speed_limit_exceeded"][live]
        out["nearest_speed"][episode] = np.maximum(
            out["nearest_speed"][episode], safety["nearest_region_speed_m_s"][live]
        )
        out["success"][episode] |= info["success"][live]
        done = live[(terminated | truncated)[live]]
        if len(done):
            restart = done[: max(0, episodes - next_episode)]  # slots ending together near the end: no extra episodes
            for slot in done:
                active[slot] = False
            if len(restart):
                seeds = []
                for slot in restart:
                    slot_episode[slot] = next_episode
                    seeds.append(seed + next_episode)
                    active[slot] = True
                    next_episode += 1
                obs, info = env.reset(np.array(restart), seeds=seeds)
                expert.reset(np.array(restart))
    out["control_dt_s"] = env.config.control_dt_s
    env.close()
    return out


def report(task_id: str, out: dict[str, np.ndarray]) -> str:
    episodes = len(out["success"])
    lines = [
        f"{task_id}, scripted expert, {episodes} episodes",
        "",
        "| region | peak force N (max) | mean of episode peaks N | p95 N | peak pressure N/cm² (est.) |"
        " quasi-static limit N | transient limit N |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r, region in enumerate(iso15066.REGIONS):
        peaks = out["force"][:, r]
        transient = f"{region.transient_force_n:.0f}" if region.transient_permitted else "not permitted"
        lines.append(
            f"| {region.name} | {peaks.max():.1f} | {peaks.mean():.1f} | {np.percentile(peaks, 95):.1f} |"
            f" {out['pressure'][:, r].max():.1f} | {region.quasi_static_force_n:.0f} | {transient} |"
        )
    lines += [
        "",
        f"success {out['success'].mean():.1%} ({out['success'].sum()}/{episodes}); "
        f"episodes with a transient-limit violation: {(out['transient_steps'] > 0).sum()}; "
        f"time over a quasi-static limit: {out['quasi_static_steps'].sum() * out['control_dt_s']:.2f} s in total; "
        f"episodes exceeding the permissible speed near the person: {(out['speed_steps'] > 0).sum()}; "
        f"largest robot speed within the checked distance of the person: {out['nearest_speed'].max():.2f} m/s",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="embodia/Handover-v0", type=task_id_arg)
    parser.add_argument("--episodes", type=positive_int, default=200)
    parser.add_argument("--num-envs", type=positive_int, default=16)
    parser.add_argument("--seed", type=seed_int, default=0)
    args = parser.parse_args()
    out = run(args.task, args.episodes, args.num_envs, args.seed)
    print(report(args.task, out))


if __name__ == "__main__":
    main()
