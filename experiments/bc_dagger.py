"""Behaviour cloning from 100 expert demonstrations, then DAgger, per task and seed; writes the results table.

    python experiments/bc_dagger.py --tasks BinPicking Handover --seeds 0 1 2
    python experiments/bc_dagger.py --report-only    # rebuild experiments/results/learning_bc.md from runs/bc

Demonstrations: ``runs/demos/<Task>-v0-expert`` (100 clean expert episodes, seeds 0..99), recorded first if
missing. Per (task, seed) the BC policy fitted to them and the policy after the DAgger rounds are each evaluated
on the same 100 episodes seeded 1,000,000 + k; results go to ``runs/bc/<Task>-s<seed>.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from embodia.commands.common import positive_int, seed_int, task_name_arg

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "experiments" / "configs"
RESULTS = ROOT / "experiments" / "results"
RUNS = ROOT / "runs" / "bc"
DEMOS = ROOT / "runs" / "demos"
#: tasks whose policy also sees the yaw features of agents/learn/features.py (obs_mode: dict in their config)
YAW_FEATURE_TASKS = ("BinPicking",)
#: validation episodes (which pick the DAgger round) are seeded from here, disjoint from demos, rollouts, evaluation
VALIDATION_SEED = 2_000_000


def demo_folder(task: str) -> Path:
    folder = DEMOS / f"{task}-v0-expert"
    if not (folder / "meta.json").exists():
        from embodia.agents.learn.collect import collect_demonstrations

        print(f"recording 100 expert demonstrations into {folder}", flush=True)
        collect_demonstrations(f"embodia/{task}-v0", 100, folder, seed=0, num_envs=10, overwrite=True)
    return folder


def run_one(task: str, seed: int, iterations: int, episodes: int, every_round: bool, validation_episodes: int) -> dict:
    import dataclasses

    import torch

    from embodia.agents.learn.config import load_config
    from embodia.agents.learn.dagger import train_dagger
    from embodia.agents.learn.features import YawFeaturesExtractor
    from embodia.agents.learn.networks import NormalizedExtractor, SB3Policy
    from embodia.agents.learn.rollout import evaluate_success
    from embodia.agents.learn.train import _load_demos, env_kwargs
    from embodia.envs.core.batched_env import make_batched

    torch.set_num_threads(1)
    env_id = f"embodia/{task}-v0"
    config = load_config(CONFIGS / f"{task}-bc_dagger.yaml")
    config = dataclasses.replace(config, demos=str(demo_folder(task)))
    demos = _load_demos(env_id, config)
    probe = make_batched(env_id, 1, **env_kwargs(config))
    evaluations: list[dict] = []
    started = time.perf_counter()

    best: dict = {"validation": -1.0}

    def success(policy, episodes: int, eval_seed: int) -> float:
        result = evaluate_success(env_id, SB3Policy(policy), episodes, eval_seed, 20, env_kwargs(config))
        return result["success_rate"]

    def on_iteration(i: int, policy, history) -> None:
        row = {"iteration": i, "validation_success": success(policy, validation_episodes, VALIDATION_SEED),
               "labelled_episodes": int(sum(history.rollout_episodes[1:])),
               "rollout_success": history.rollout_success[-1], "transitions": history.transitions[-1]}  # fmt: skip
        if i == 0 or every_round:
            row["success_rate"] = success(policy, config.final_eval_episodes, config.eval_seed)
        row["wall_s"] = round(time.perf_counter() - started, 1)
        evaluations.append(row)
        if row["validation_success"] > best["validation"]:
            best.update(validation=row["validation_success"], policy=policy, row=row)
        print(f"{task} s{seed} iteration {i}: {row}", flush=True)

    extractor = YawFeaturesExtractor if task in YAW_FEATURE_TASKS else NormalizedExtractor
    train_dagger(env_id, demos, probe.single_observation_space, probe.single_action_space, config, seed, iterations,
                 episodes, on_iteration=on_iteration, extractor_class=extractor)  # fmt: skip
    chosen = best["row"]
    selected = {"iteration": chosen["iteration"], "labelled_episodes": chosen["labelled_episodes"],
                "validation_success": chosen["validation_success"],
                "success_rate": success(best["policy"], config.final_eval_episodes, config.eval_seed),
                "wall_s": round(time.perf_counter() - started, 1)}  # fmt: skip
    print(f"{task} s{seed} selected: {selected}", flush=True)
    out = RUNS / f"{task}-s{seed}"
    out.mkdir(parents=True, exist_ok=True)
    best["policy"].save(out / "policy.zip")
    record = {"task": task, "seed": seed, "iterations": iterations, "episodes_per_iteration": episodes,
              "eval_episodes": config.final_eval_episodes, "eval_seed": config.eval_seed,
              "validation_episodes": validation_episodes, "validation_seed": VALIDATION_SEED,
              "evaluations": evaluations, "selected": selected}  # fmt: skip
    (RUNS / f"{task}-s{seed}.json").write_text(json.dumps(record, indent=2))
    return record


def write_table(command: str) -> Path:
    records = [json.loads(p.read_text()) for p in sorted(RUNS.glob("*-s*.json"))]
    lines = [
        "# Behaviour cloning and DAgger (issue 4, figure 1)",
        "",
        f"Regenerate: `{command}` (2-core x86-64, no GPU, shared; torch on 1 thread).",
        "",
        "Initial data: 100 clean expert demonstrations (seeds 0..99). DAgger round i rolls out the mixture that",
        "lets the expert act with probability 0.5^i (per step), labels every visited state with the scripted",
        "expert's action, aggregates and refits from scratch; the round with the best validation success is kept.",
        "Every seed ran all rounds (3 x 32 labelled rollouts); the table counts the kept policy's.",
        "Success on the same 100 evaluation episodes (seeds 1,000,000 + k) for every row; mean ± standard",
        "deviation over seeds, per-seed values in brackets. Wall-clock per seed includes all rounds and the",
        "validation and evaluation episodes. BinPicking's policy also sees yaw features (agents/learn/features.py).",
        "",
        "| task | method | seeds | success rate | per seed | labelled rollouts kept | wall-clock per seed |",
        "|---|---|---:|---:|---|---:|---:|",
    ]
    for task in sorted({r["task"] for r in records}):
        runs = [r for r in records if r["task"] == task]
        for label, pick in (("BC, 100 demos", lambda r: r["evaluations"][0]),
                            ("BC + DAgger", lambda r: r["selected"])):  # fmt: skip
            rows = [pick(r) for r in runs]
            rates = np.array([row["success_rate"] for row in rows]) * 100
            labelled = sorted({row["labelled_episodes"] for row in rows})
            wall = np.mean([row["wall_s"] for row in rows])  # includes the validation and evaluation episodes
            lines.append(f"| {task} | {label} | {len(rows)} | **{rates.mean():.1f}% ± {rates.std():.1f}%** | "
                         f"[{', '.join(f'{x:.0f}%' for x in rates)}] | {'/'.join(map(str, labelled))} | "
                         f"{wall:.0f} s |")  # fmt: skip
    lines += [
        "",
        "Validation success (30 episodes seeded 2,000,000 + k) after each round; the round with the best",
        "validation success is the one evaluated (Ross et al. 2011 return the best policy of the sequence):",
        "",
    ]
    for r in records:
        steps = ", ".join(f"{e['iteration']}: {e['validation_success']:.0%}" for e in r["evaluations"])
        lines.append(f"- {r['task']} seed {r['seed']}: {steps}; selected round {r['selected']['iteration']}")
    path = RESULTS / "learning_bc.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["BinPicking", "Handover"], type=task_name_arg)
    parser.add_argument("--seeds", nargs="+", type=seed_int, default=[0, 1, 2])
    parser.add_argument("--iterations", type=int, default=3, help="DAgger rounds after the initial BC fit")
    parser.add_argument("--episodes", type=positive_int, default=32, help="expert-labelled rollouts per DAgger round")
    parser.add_argument("--validation", type=int, default=30, help="validation episodes that pick the round")
    parser.add_argument("--every-round", action="store_true", help="evaluate after every round, not first and last")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        for task in args.tasks:
            for seed in args.seeds:
                if (RUNS / f"{task}-s{seed}.json").exists():
                    print(f"{task} s{seed}: done already", flush=True)
                    continue
                run_one(task, seed, args.iterations, args.episodes, args.every_round, args.validation)
    print(write_table("python experiments/bc_dagger.py --tasks BinPicking Handover --seeds 0 1 2"))


if __name__ == "__main__":
    main()
