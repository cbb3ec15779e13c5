"""Expert success of the factory tasks over N seeds, as a markdown table (the README's figures).

python experiments/factory_report.py                      # every case, 200 seeds each (seed 0 .. 199)
python experiments/factory_report.py --episodes 50 --task embodia/PegInsertion-v0
python experiments/factory_report.py --out experiments/results/factory.md

Each case is a task id and the env kwargs it runs with; add a row to CASES for a new task or variant.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import embodia  # noqa: F401  (registers the tasks; headless GL backend)
from embodia.agents.evaluate import run_episodes
from embodia.commands.common import positive_int, seed_int, task_id_arg

#: (task id, env kwargs): one table row each
CASES: list[tuple[str, dict[str, Any]]] = [
    ("embodia/BinPicking-v0", {}),
    ("embodia/PegInsertion-v0", {"clearance_m": 0.002}),
    ("embodia/PegInsertion-v0", {}),  # 1 mm radial clearance, the default
    ("embodia/PegInsertion-v0", {"clearance_m": 0.0005}),
    ("embodia/NutBolt-v0", {}),
    ("embodia/GearAssembly-v0", {}),
    ("embodia/ConveyorSort-v0", {}),
    ("embodia/Palletizing-v0", {}),  # two layers, four cartons
]


OUT_HEADER = """# Factory tasks: scripted expert success

Regenerate: `python experiments/factory_report.py --out experiments/results/factory.md` (2-core x86-64, no GPU).
"""


def describe(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in kwargs.items()) or "defaults"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=positive_int, default=200)
    parser.add_argument("--seed", type=seed_int, default=0)
    parser.add_argument("--num-envs", type=positive_int, default=16)
    parser.add_argument(
        "--task", action="append", type=task_id_arg, help="only these task names or ids (default: every case)"
    )
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    from embodia.envs.tasks.registry import TASKS

    cases = [(t, kw) for t, kw in CASES if t in TASKS and (args.task is None or t in args.task)]
    reported = sorted({t for t, _ in CASES})
    for task in set(args.task or ()) - set(reported):
        parser.error(f"--task {task}: not in this report; its tasks: {', '.join(reported)}")
    lines = [
        f"| task | kwargs | expert success ({args.episodes} seeds from {args.seed}) | mean length (steps) |",
        "|---|---|---|---:|",
    ]
    print("\n".join(lines), flush=True)
    for env_id, kwargs in cases:
        start = time.perf_counter()
        summary = run_episodes(
            env_id,
            episodes=args.episodes,
            seed=args.seed,
            num_envs=args.num_envs,
            progress=False,
            env_kwargs=kwargs,
        )
        successes = sum(e["success"] for e in summary["per_episode"])
        line = (
            f"| `{env_id}` | {describe(kwargs)} | **{summary['success_rate']:.1%}** ({successes}/{args.episodes}) "
            f"| {summary['mean_length']:.0f} |"
        )
        lines.append(line)
        print(line, f"<!-- {time.perf_counter() - start:.0f} s -->", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(OUT_HEADER + "\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
