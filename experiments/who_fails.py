"""Which episodes a care task's expert fails, and who the person was in them and in the hardest contacts.

    python experiments/who_fails.py --task Drinking                 # seeds 0-199, as care_report.py runs them
    python experiments/who_fails.py --task BlanketCover --episodes 50 --seed 100

The person's sex and stature are drawn per episode; a failure that only tall men (or short women) meet points at
geometry the task or its expert does not fit yet. Prints each failed seed with its person, then the episodes with
the largest contact force on the person (region, and whether a transient limit was exceeded).
"""

from __future__ import annotations

import argparse

import numpy as np
from care_report import care_tasks

import embodia  # noqa: F401  (headless GL backend before mujoco loads)
from embodia.agents.experts import make_expert
from embodia.commands.common import positive_int, seed_int, task_id_arg
from embodia.envs.core.batched_env import make_batched
from embodia.envs.human.config import SEXES
from embodia.envs.safety import iso15066


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, type=task_id_arg, help="a care task's name or id, e.g. Drinking")
    parser.add_argument("--episodes", type=positive_int, default=200)
    parser.add_argument("--seed", type=seed_int, default=0, help="the first seed")
    parser.add_argument("--top", type=int, default=4, help="how many of the hardest contacts to list")
    args = parser.parse_args(argv)
    env_id = args.task
    if env_id not in care_tasks():
        parser.error(f"--task {env_id}: not a care task (no person to fail with); valid: {', '.join(care_tasks())}")
    n, seeds = args.episodes, list(range(args.seed, args.seed + args.episodes))
    env = make_batched(env_id, n)
    expert = make_expert(env_id, n)
    obs, info = env.reset(seeds=seeds)
    expert.reset(np.arange(n))
    human = info["human"]
    done, success, transient = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    peak, region = np.zeros(n), np.zeros(n, dtype=int)
    for _ in range(env.config.episode_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        forces = np.stack([info["safety"]["force_n"][name] for name in iso15066.REGION_NAMES], axis=1)
        harder = ~done & (forces.max(axis=1) > peak)
        region = np.where(harder, forces.argmax(axis=1), region)
        peak = np.where(harder, forces.max(axis=1), peak)
        transient |= ~done & info["safety"]["transient_exceeded"]
        success |= ~done & info["success"]
        done |= terminated | truncated
        if done.all():
            break
    env.close()

    def who(k: int) -> str:
        sex, percentile = SEXES[int(human["sex"][k])], int(human["stature_percentile"][k])
        return f"seed {seeds[k]}: {sex}, stature P{percentile} ({human['stature_m'][k]:.2f} m)"

    print(f"{env_id}: expert success {int(success.sum())}/{n}")
    for k in np.flatnonzero(~success):
        print(f"  failed  {who(k)}")
    for k in np.argsort(-peak)[: args.top]:
        if peak[k] > 0:
            note = ", a transient limit exceeded" if transient[k] else ""
            print(f"  contact {peak[k]:.1f} N on the {iso15066.REGION_NAMES[region[k]]}{note}; {who(k)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
