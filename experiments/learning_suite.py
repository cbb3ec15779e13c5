"""The learning baseline table: one recipe per method, the same for every task, on all 14 tasks.

    python experiments/learning_suite.py --methods bc --seeds 0 1 2          # every task; runs what is missing
    python experiments/learning_suite.py --methods sac --tasks Reach --seeds 0 1 2
    python experiments/learning_suite.py --methods rlpd --seeds 0                # needs the BC demonstrations
    python experiments/learning_suite.py --methods rlpd --seeds 0 1 2 --workers 2   # as Ray tasks, 2 at a time
    python experiments/learning_suite.py --report-only                       # rebuild the table and the plots
    python experiments/learning_suite.py --quick --runs /tmp/suite --results /tmp/suite   # tiny; CI runs it

A method is one config for all tasks, ``experiments/configs/suite/<method>.yaml``; its algorithm is the part
before an underscore. Methods that learn from demonstrations record them first when missing: ``demo_episodes``
(100) expert episodes it finished under the config's DART noise on the arm (``demo_noise``, 0.1) and held pushes
(``demo_pushes``, 0; seeds from 0, skipping those it failed) into ``runs/demos/<Task>-v0-dart0.1-successes``
(``-push<p>`` when pushed, ``-<episodes>`` when more than 100). Runs go to
``runs/suite/<Task>-<method>-s<seed>``; a finished one is kept, an interrupted one resumed (from its latest
checkpoint, with its replay buffer). ``--workers N`` runs the grid's trials as Ray tasks, at most N at a time
(``embodia.agents.learn.sweep``; ``--ray-address`` joins a cluster whose nodes share the runs folder); a trial
whose worker dies resumes from its checkpoint elsewhere. Evaluation episodes are seeded from 1,000,000
(``TrainConfig.eval_seed``), disjoint from the demonstrations.

Each finished run's result (final evaluation, curve, reward revision) is kept in
``experiments/results/learning_suite_runs/<run>.json``, committed, and the table is built from those, so a row
survives its run folder. Writes ``experiments/results/learning_suite.md`` (success mean ± std over seeds, per-seed
values, the success at step 0, env steps, wall-clock) and ``learning_suite_<Task>.png`` (success against env
steps, every method).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from train_grid import (
    CONFIGS,
    RESULTS,
    ROOT,
    archive_results,
    collect_results,
    make_trial,
    plot_curves,
    report,
    table_lines,
)

from embodia.commands.common import seed_int, task_name_arg

SUITE_CONFIGS = CONFIGS / "suite"
RUNS = ROOT / "runs" / "suite"
DEMOS = ROOT / "runs" / "demos"
#: --quick: Reach only, a handful of demonstrations and steps, so that CI runs the whole pipeline in seconds
QUICK = dict(
    demo_episodes=4, bc_epochs=2, total_steps=200, learning_starts=50, eval_every=100, eval_episodes=2,
    final_eval_episodes=2, net_arch=[16, 16], actor_warmup_steps=0,
)  # fmt: skip


def demo_folder(task: str, demos: Path, episodes: int, noise: float, pushes: float) -> Path:
    """The task's demonstrations, recorded when missing (``episodes`` finished expert episodes, seeds from 0, under
    DART ``noise`` and held ``pushes``); more than the suite's 100 go to a folder of their own,
    ``...-successes-<episodes>``, and the name says the noise and pushes (as bc_levers.py's collect names them)."""
    from embodia.agents.learn.collect import collect_demonstrations, demo_folder_name

    folder = demos / demo_folder_name(task, noise, pushes, True, episodes)  # fewer than 100: the first ones
    if (folder / "summary.json").exists():
        from embodia.agents.learn.dataset import controller_revisions
        from embodia.envs.record.episode import read_json_file

        recorded, installed = controller_revisions(read_json_file(folder / "meta.json", what="a run's metadata"))
        if recorded != installed:  # a table row must say which controller it learnt on, demonstrations included
            raise SystemExit(
                f"{folder} was recorded with the arm controllers' revision {recorded}, this embodia's is {installed}: "
                "move it away (it is kept, not overwritten) and run again to record the demonstrations anew"
            )
    else:
        summary = collect_demonstrations(f"embodia/{task}-v0", episodes, folder, seed=0, num_envs=10,
                                         action_noise=noise, disturbance_rate=pushes, overwrite=True,
                                         successes_only=True)  # fmt: skip
        print(f"recorded {episodes} demonstrations of {task} into {folder} (the noisy expert finished "
              f"{summary['success_rate']:.0%} of {summary['attempted']} episodes)")  # fmt: skip
    return folder


def method_config(method: str, task: str, demos: Path, quick: bool):
    from embodia.agents.learn.algorithms import ALGORITHMS
    from embodia.agents.learn.config import load_config

    overrides = dict(QUICK) if quick else {}
    config = load_config(SUITE_CONFIGS / f"{method}.yaml", overrides)
    if ALGORITHMS[method.split("_")[0]].needs_demos:
        folder = demo_folder(task, demos, config.demo_episodes, config.demo_noise, config.demo_pushes)
        config = load_config(SUITE_CONFIGS / f"{method}.yaml", {**overrides, "demos": str(folder)})
    return config


def write_report(runs: Path, results: Path) -> Path:
    """The table and curves from every result kept in ``results/learning_suite_runs/`` (committed), after copying
    in the finished runs of ``runs``: a row stays when its run folder is on another machine or gone."""
    archive = results / "learning_suite_runs"
    for path in archive_results(runs, archive):
        print(f"kept {path}")
    groups = collect_results(runs, archive)
    header = [
        "# Learning baselines: every task, one recipe per method",
        "",
        "Regenerate: `python experiments/learning_suite.py --methods METHOD --seeds 0 1 2` for each method in the",
        "table (it runs what is missing, then rewrites this file; 2-core x86-64, no GPU; torch on 1 thread). A",
        "method is one config for all tasks, `experiments/configs/suite/<method>.yaml`. Success rate on held-out",
        "evaluation episodes (seeded 1,000,000 + k; demonstrations are seeds from 0), mean ± standard deviation over",
        "seeds, per-seed values in brackets. Wall-clock is training time per seed on this machine (BC: fitting;",
        'RL: environment and gradient steps, periodic evaluations included). "At step 0" is an RL method\'s success',
        "before its first environment step: for RLPD, which starts from a clone of the BC recipe's demonstrations",
        "(fitted one action per step), the start it must improve on. Rewards: the revision of the dense rewards an",
        "RL row was trained with (`REWARD_REVISION` in `envs/tasks/base.py`; rev. 2 holds each stage's term through",
        "the stages after it and shapes carries across the work cell; rev. 3 pays the factory tasks for opening the",
        "jaws once a part is placed; rev. 4 shapes placing over the whole drop from the carry waypoint); a row of an",
        "older revision is kept until it is rerun. Controller: the revision",
        "of the arm's controllers a row learnt and was evaluated on (`CONTROLLER_REVISION` in",
        "`envs/control/controllers.py`; rev. 2 holds the TCP still on a zero arm action, where rev. 1 let it creep",
        "towards home). Curves: `learning_suite_<Task>.png`.",
        "",
    ]
    out = results / "learning_suite.md"
    out.write_text("\n".join(header + table_lines(groups) + budget_lines(groups)) + "\n")
    for path in plot_curves(groups, results, prefix="learning_suite"):
        print(f"wrote {path}")
    print(f"wrote {out}")
    return out


def budget_lines(groups: dict[tuple[str, str], list[dict]]) -> list[str]:
    """What the table costs to reproduce (issue 15 asks for a working day on this machine): every run's training
    wall-clock summed per method and in all."""
    hours: dict[str, list[float]] = {}
    for (_, method), results in groups.items():
        hours.setdefault(method, []).extend(r["train_wall_s"] / 3600 for r in results)
    total = sum(sum(v) for v in hours.values())
    lines = [
        "",
        "## Budget",
        "",
        "Training wall-clock of every run in the table, summed: one job at a time on this machine (each run's own",
        "figure, measured with whatever else ran beside it).",
        "",
        "| method | runs | hours |",
        "|---|---:|---:|",
    ]
    for method, values in sorted(hours.items(), key=lambda item: -sum(item[1])):
        lines.append(f"| {method} | {len(values)} | {sum(values):.1f} |")
    lines.append(f"| all | {sum(len(v) for v in hours.values())} | **{total:.1f}** |")
    return lines


def main(argv: list[str] | None = None) -> int:
    from embodia.envs.tasks.registry import TASKS, short_name

    every_task = [short_name(env_id) for env_id in TASKS]
    methods = sorted(path.stem for path in SUITE_CONFIGS.glob("*.yaml"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tasks", nargs="+", type=task_name_arg, help="task names without embodia/ and -v0 (default: every task)"
    )
    parser.add_argument("--methods", nargs="+", help=f"one or more of {', '.join(methods)} (default: bc)")
    parser.add_argument("--seeds", nargs="+", type=seed_int, help="default: 0 1 2")
    parser.add_argument("--runs", type=Path, default=RUNS)
    parser.add_argument("--demos", type=Path, default=DEMOS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true", help="only rebuild the table and the plots")
    parser.add_argument("--workers", type=int, default=None, help="run the trials as Ray tasks, at most N at once")
    parser.add_argument("--ray-address", default=None, help="join the Ray cluster at this address (needs --workers)")
    parser.add_argument("--quick", action="store_true", help="Reach, bc, rlpd and sac, seed 0, a few steps (for CI)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "egl")
    if args.quick:
        if args.runs == RUNS or args.results == RESULTS:
            parser.error("--quick writes tiny results: give it its own --runs and --results folders")
        chosen = [f"--{name}" for name in ("tasks", "methods", "seeds") if getattr(args, name) is not None]
        if chosen:
            parser.error(f"--quick runs its own set (Reach; bc, rlpd and sac; seed 0): drop {', '.join(chosen)}")
        args.tasks, args.methods, args.seeds = ["Reach"], ["bc", "rlpd", "sac"], [0]
        args.demos = args.runs / "demos"
    args.tasks = args.tasks or every_task
    args.methods = args.methods or ["bc"]
    args.seeds = [0, 1, 2] if args.seeds is None else args.seeds
    unknown = sorted(set(args.methods) - set(methods))
    if unknown:
        parser.error(f"unknown method {', '.join(unknown)}; valid: {', '.join(methods)}")
    if args.workers is not None and args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    if args.ray_address and args.workers is None:
        parser.error("--ray-address needs --workers N (how many trials run at once)")
    if not args.report_only:
        from embodia.agents.learn.sweep import run_trials

        trials = []
        for task in args.tasks:
            for method in args.methods:
                config = method_config(method, task, args.demos, args.quick)  # records demonstrations when missing
                trials += [make_trial(task, method, seed, args.runs, config) for seed in args.seeds]
        run_trials(trials, args.workers, args.ray_address, on_result=report)
    write_report(args.runs, args.results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
