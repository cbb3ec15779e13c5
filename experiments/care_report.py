"""Expert success and contact forces on the person for every elder-care task, as one markdown table (the README's).

    python experiments/care_report.py                          # every care task, 200 expert + 50 random seeds
    python experiments/care_report.py --task embodia/Feeding-v0 --episodes 50
    python experiments/care_report.py --out experiments/results/care.md

A care task is a registered task whose summary starts with "elder care". Expert episode ``k`` is seeded
``seed + k`` (as in ``embodia run``); the random policy runs ``--random-episodes`` seeds from ``seed``. The
peak force is the largest contact force on any ISO/TS 15066 body region over all expert episodes, beside that
region's quasi-static limit; the speed column counts episodes in which a robot point within the checked distance
of the person moved faster than the standard's permissible transient-contact speed for the nearest region (zero
for the face and skull, where no transient contact is permitted). The per-region breakdown of one task is
``experiments/safety_report.py``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import safety_report

import embodia  # noqa: F401  (registers the tasks; headless GL backend)
from embodia.agents.evaluate import run_episodes
from embodia.commands.common import positive_int, seed_int, task_id_arg
from embodia.envs.safety import iso15066
from embodia.envs.tasks.registry import TASKS

OUT_HEADER = """# Elder-care tasks: scripted expert, random policy and contact forces on the person

Regenerate: `python experiments/care_report.py --out experiments/results/care.md` (2-core x86-64, no GPU).
Expert episode k is seeded k; the random policy runs seeds 0-49. Forces are the largest contact force on any
ISO/TS 15066 body region over all 200 expert episodes. The speed column counts episodes in which a robot point
within 10 cm of the person moved faster than the standard's permissible transient-contact speed for the nearest
region, which is zero for the face and skull (no transient contact permitted there): Feeding and Drinking
bring the tool to the mouth, so every approach near the face counts, though nothing touches it.
"""


def care_tasks() -> list[str]:
    return [env_id for env_id, entry in TASKS.items() if entry.summary.startswith("elder care")]


def row(env_id: str, episodes: int, random_episodes: int, num_envs: int, seed: int) -> str:
    out = safety_report.run(env_id, episodes, num_envs, seed)
    peak_per_region = out["force"].max(axis=0)
    worst = int(np.argmax(peak_per_region))
    region = iso15066.REGIONS[worst]
    random = run_episodes(
        env_id, policy="random", episodes=random_episodes, seed=seed, num_envs=min(num_envs, 10), progress=False
    )
    random_successes = sum(e["success"] for e in random["per_episode"])
    successes = int(out["success"].sum())
    if peak_per_region[worst] > 0:
        peak = f"{peak_per_region[worst]:.1f} N ({region.name}; limit {region.quasi_static_force_n:.0f} N)"
    else:
        peak = "0 N (no contact)"
    return (
        f"| `{env_id}` | **{successes / episodes:.1%}** ({successes}/{episodes}) "
        f"| {random_successes}/{random_episodes} "
        f"| {peak} "
        f"| {int((out['transient_steps'] > 0).sum())} "
        f"| {out['quasi_static_steps'].sum() * out['control_dt_s']:.2f} s "
        f"| {int((out['speed_steps'] > 0).sum())} ({out['nearest_speed'].max():.2f} m/s) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=positive_int, default=200)
    parser.add_argument("--random-episodes", type=int, default=50)
    parser.add_argument("--seed", type=seed_int, default=0)
    parser.add_argument("--num-envs", type=positive_int, default=16)
    parser.add_argument(
        "--task", action="append", type=task_id_arg, help="only these task names or ids (default: every care task)"
    )
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    tasks = care_tasks()
    unknown = sorted(set(args.task or []) - set(tasks))
    if unknown:
        parser.error(f"not a care task: {', '.join(unknown)}; valid: {', '.join(tasks)}")
    lines = [
        f"| task | expert success ({args.episodes} seeds from {args.seed}) | random ({args.random_episodes}) "
        "| peak contact force on the person (region; its quasi-static limit) "
        "| episodes with a transient-limit violation | time over a quasi-static limit "
        "| episodes over the permissible speed near the person (fastest robot point within the checked distance) |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    for env_id in args.task or tasks:
        start = time.perf_counter()
        line = row(env_id, args.episodes, args.random_episodes, args.num_envs, args.seed)
        lines.append(line)
        print(line, f"<!-- {time.perf_counter() - start:.0f} s -->", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(OUT_HEADER + "\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
