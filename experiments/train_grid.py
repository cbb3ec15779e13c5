"""Run a grid of (task, method, seed) trainings and write the results table and learning curves.

    python experiments/train_grid.py --tasks Reach --methods sac --seeds 0 1 2
    python experiments/train_grid.py --report-only     # rebuild the table and plots from the run folders

A method is a config name: ``experiments/configs/<Task>-<method>.yaml``; its algorithm is the part before an
underscore (``sac_her`` trains ``sac`` with the HER config). Runs go to ``runs/grid/<Task>-<method>-s<seed>``;
a finished run (``eval.json`` present) is not trained again, an interrupted one is resumed from its checkpoint.
Writes ``experiments/results/learning.md`` (success rate mean and spread over seeds, env steps, wall-clock) and
``experiments/results/learning_<Task>.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from embodia.agents.learn.algorithms import ALGOS
from embodia.agents.learn.train import read_curve
from embodia.commands.common import seed_int, task_name_arg

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "experiments" / "configs"
RESULTS = ROOT / "experiments" / "results"
RUNS = ROOT / "runs" / "grid"


def run_name(task: str, method: str, seed: int) -> str:
    return f"{task}-{method}-s{seed}"


def train_one(task: str, method: str, seed: int, runs: Path, config: Any = None) -> None:
    """Train one run into ``runs/<Task>-<method>-s<seed>`` (``config``: a TrainConfig, default the task's own
    ``experiments/configs/<Task>-<method>.yaml``); skip it when finished, resume it when interrupted."""
    from embodia.agents.learn.sweep import train_trial

    trial = make_trial(task, method, seed, runs, config)
    report(trial, train_trial(trial))


def make_trial(task: str, method: str, seed: int, runs: Path, config: Any = None) -> Any:
    """The sweep's trial for (task, method, seed); ``config`` as for ``train_one``."""
    from embodia.agents.learn.config import load_config
    from embodia.agents.learn.sweep import Trial

    config = config or load_config(CONFIGS / f"{task}-{method}.yaml")
    return Trial(f"embodia/{task}-v0", method.split("_")[0], config, seed, runs / run_name(task, method, seed))


def report(trial: Any, result: dict) -> None:
    """One line per finished trial."""
    if result["status"] == "done already":
        print(f"{trial.name}: done already", flush=True)
    else:
        print(f"{trial.name}: success {result['success_rate']:.0%} in {result['seconds']:.0f} s ({result['status']})",
              flush=True)  # fmt: skip


def collect_results(runs: Path, archive: Path | None = None) -> dict[tuple[str, str], list[dict]]:
    """Every finished run's final evaluation, curve and reward revision, grouped by (task, method): the records
    kept in ``archive`` (``archive_results``), replaced by the run folders in ``runs`` that hold the same run."""
    records = {path.stem: json.loads(path.read_text()) for path in sorted(archive.glob("*.json"))} if archive else {}
    for eval_path in sorted(runs.glob("*/eval.json")):
        records[eval_path.parent.name] = run_result(eval_path.parent)
    groups: dict[tuple[str, str], list[dict]] = {}
    for name, result in sorted(records.items()):
        task, method, _ = name.rsplit("-", 2)
        groups.setdefault((task, method), []).append(result)
    return groups


def run_result(run_dir: Path) -> dict:
    """A finished run's final evaluation (``eval.json``) with its curve and the reward revision it trained on."""
    result = json.loads((run_dir / "eval.json").read_text())
    rows = read_curve(run_dir)  # the periodic evaluations, curve.csv
    result["curve"] = [(row["env_steps"], row["success_rate"]) for row in rows]
    result["curve_wall_s"] = [row["wall_s"] for row in rows]
    record = run_dir / "run.json"
    versions = json.loads(record.read_text()).get("versions", {}) if record.exists() else {}
    result["reward_revision"] = versions.get("rewards", 1)  # runs before the revision was recorded: the first
    result["controller_revision"] = int(versions.get("controller", 1))  # likewise
    return result


def archive_results(runs: Path, archive: Path) -> list[Path]:
    """Keep each finished run's result in ``archive/<run>.json``, a few kilobytes that go into git.

    Why: a run folder holds checkpoints and replay buffers far too large to commit, so it lives only on the machine
    that trained it; a table rebuilt from run folders alone would drop every row whose folder is gone. A record is
    rewritten only from its own run folder (a rerun replaces the row it reruns; git keeps the one before)."""
    archive.mkdir(parents=True, exist_ok=True)
    written = []
    for eval_path in sorted(runs.glob("*/eval.json")):
        path = archive / f"{eval_path.parent.name}.json"
        text = json.dumps(run_result(eval_path.parent), indent=1) + "\n"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def write_table(groups: dict[tuple[str, str], list[dict]], out: Path, command: str) -> None:
    lines = [
        "# Learning results",
        "",
        f"Regenerate: `{command}` (2-core x86-64, no GPU, shared with other jobs; torch on 1 thread).",
        "Success rate on 100 (BC, Reach) or 50 evaluation episodes seeded 1,000,000 + k, disjoint from the",
        "demonstrations (seeds 0..99); mean ± standard deviation over seeds, per-seed values in brackets.",
        "Wall-clock is training time per seed (BC: fitting; RL: environment and gradient steps, periodic",
        "evaluations included).",
        "",
    ]
    out.write_text("\n".join(lines + table_lines(groups)) + "\n")


def table_lines(groups: dict[tuple[str, str], list[dict]]) -> list[str]:
    """The results table: a row per task and method, success mean ± std over seeds and per seed, and for a method
    that steps the env its success before any step (a clone-started method's BC start, which it must improve on)."""
    lines = [
        "| task | method | seeds | success rate | per seed | at step 0 | env steps | wall-clock per seed | rewards "
        "| controller |",
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for (task, method), results in sorted(groups.items()):
        rates = np.array([r["success_rate"] for r in results])
        walls = np.array([r["train_wall_s"] for r in results])
        per_seed = ", ".join(f"{v:.0%}" for v in rates)
        steps = int(np.mean([r["env_steps"] for r in results]))
        starts = [start_success(r) for r in results if start_success(r) is not None]
        start = f"{np.mean(starts):.1%}" if len(starts) == len(results) else "-"
        # the reward revision an RL row was trained with (behaviour cloning never sees the reward)
        revisions = sorted({r["reward_revision"] for r in results}) if steps else []
        rewards = "/".join(f"rev. {v}" for v in revisions) or "-"
        # the arm's controller every row learnt on (BC's demonstrations were recorded through it too)
        controllers = "/".join(f"rev. {v}" for v in sorted({r.get("controller_revision", 1) for r in results}))
        lines.append(
            f"| {task} | {method} | {len(results)} | **{rates.mean():.1%} ± {rates.std():.1%}** | [{per_seed}] "
            f"| {start} | {steps:,} | {walls.mean():.0f} s | {rewards} | {controllers} |"
        )
    return lines


def start_success(result: dict) -> float | None:
    """A run's success before its first env step: its curve's first point, or for a record rebuilt from the table
    after its run folder was lost (``curve_lost``), the figure the table gave."""
    curve = result["curve"]
    if len(curve) > 1 and curve[0][0] == 0:
        return curve[0][1]
    return result.get("start_success")


def plot_curves(groups: dict[tuple[str, str], list[dict]], results_dir: Path, prefix: str = "learning") -> list[Path]:
    """One PNG per task, ``<prefix>_<Task>.png``: success against env steps, every method (mean over seeds, band
    min..max); a method without a curve (behaviour cloning: no env steps) is a dashed level at its final mean."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for task in sorted({t for t, _ in groups}):
        lost = sorted({m for (t, m), rs in groups.items() if t == task for r in rs if r.get("curve_lost")})
        if lost:  # redrawing would drop those curves: the figure drawn while they existed stays
            print(f"kept {results_dir / f'{prefix}_{task}.png'}: the curves of {', '.join(lost)} were not kept")
            continue
        methods = [
            (m, rs) for (t, m), rs in sorted(groups.items()) if t == task and any(len(r["curve"]) > 1 for r in rs)
        ]
        levels = [
            (m, rs) for (t, m), rs in sorted(groups.items()) if t == task and all(len(r["curve"]) <= 1 for r in rs)
        ]
        if not methods and not levels:
            continue
        fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
        for method, results in levels:
            mean = float(np.mean([r["success_rate"] for r in results]))
            ax.axhline(mean, linestyle="--", color="grey", label=f"{method} ({len(results)} seeds, final)")
        for method, results in methods:
            curves = [np.array(r["curve"]) for r in results if len(r["curve"]) > 1]
            length = min(len(c) for c in curves)
            steps = curves[0][:length, 0]
            rates = np.stack([c[:length, 1] for c in curves])
            ax.plot(steps, rates.mean(axis=0), label=f"{method} ({len(curves)} seeds)")
            ax.fill_between(steps, rates.min(axis=0), rates.max(axis=0), alpha=0.2)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("success rate (20 eval episodes)")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"{task}: mean over seeds, band = min..max")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        path = results_dir / f"{prefix}_{task}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tasks", nargs="+", default=["Reach"], type=task_name_arg, help="task names without embodia/ and -v0"
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        default=["sac"],
        help=f"config names: ALGO or ALGO_VARIANT (sac_her), ALGO one of {', '.join(ALGOS)}",
    )
    parser.add_argument("--seeds", nargs="+", type=seed_int, default=[0, 1, 2])
    parser.add_argument("--runs", type=Path, default=RUNS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--report-only", action="store_true", help="only rebuild the table and the plots")
    args = parser.parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "egl")
    if not args.report_only:
        for task in args.tasks:
            for method in args.methods:
                if not (CONFIGS / f"{task}-{method}.yaml").is_file():
                    print(f"no config {CONFIGS / f'{task}-{method}.yaml'}", file=sys.stderr)
                    return 2
        for task in args.tasks:
            for method in args.methods:
                for seed in args.seeds:
                    train_one(task, method, seed, args.runs)
    archive = args.results / "learning_runs"
    archive_results(args.runs, archive)
    groups = collect_results(args.runs, archive)
    write_table(groups, args.results / "learning.md", "python experiments/train_grid.py --report-only (after the runs)")
    for path in plot_curves(groups, args.results):
        print(f"wrote {path}")
    print(f"wrote {args.results / 'learning.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
