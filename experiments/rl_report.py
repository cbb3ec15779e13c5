"""Write the reinforcement-learning results (figures 2 and 3 of issue 4) from finished grid runs.

    python experiments/train_grid.py --tasks Reach --methods sac_her --seeds 0 --results /tmp/grid
    python experiments/train_grid.py --tasks BinPicking --methods sac+demos sac --seeds 0 --results /tmp/grid
    python experiments/rl_report.py

(``--results /tmp/grid`` keeps the grid's own table, which lists every method, out of ``experiments/results``.)

Reads ``runs/grid/<Task>-<method>-s<seed>`` (``eval.json`` and ``curve.csv``) for the RL methods only, so that it
does not collide with the behaviour-cloning table, and writes ``experiments/results/learning_rl.md`` and one
``learning_rl_<Task>.png`` per task: success rate against environment steps (equal-budget comparison) and
against training wall-clock (the time-to-90% figure).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from embodia.agents.learn.algorithms import ALGORITHMS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_grid import RESULTS, RUNS, archive_results, collect_results

#: the reinforcement-learning algorithms (stable-baselines3 steps them); a method is <algo> or <algo>_<variant>
RL_ALGOS = tuple(name for name, algorithm in ALGORITHMS.items() if algorithm.checkpoints)
TARGET_SUCCESS = 0.9


def first_reaching(curve: np.ndarray, rate: float) -> tuple[float, float] | None:
    """(env steps, wall-clock s) of the first evaluation point at or above ``rate``; None if never."""
    hit = np.flatnonzero(curve[:, 2] >= rate)
    return (curve[hit[0], 0], curve[hit[0], 1]) if len(hit) else None


def rl_groups(runs: Path) -> dict[tuple[str, str], list[dict]]:
    """The RL runs of ``runs`` and of the kept results (``RESULTS/learning_runs``), each with ``curve3``: rows of
    (env steps, wall-clock s, success rate) at its evaluations."""
    archive = RESULTS / "learning_runs"
    archive_results(runs, archive)
    groups = collect_results(runs, archive)
    groups = {key: results for key, results in groups.items() if key[1].split("_")[0] in RL_ALGOS}
    for results in groups.values():
        for result in results:
            walls = result.get("curve_wall_s", [])
            rows = [(step, wall, rate) for (step, rate), wall in zip(result["curve"], walls, strict=True)]
            result["curve3"] = np.array(rows, dtype=float).reshape(-1, 3)
    return groups


METHOD_NOTES = {
    "sac": "SAC from scratch, dense reward (`<Task>-sac.yaml`)",
    "sac_her": "SAC + HER, goal observations, sparse goal reward, 1 gradient step per env step (`Reach-sac_her.yaml`)",
    "sac+demos": "SAC started from the BC policy, 25% of each batch from 100 demos, 1 BC step per SAC step",
    "sac+demos_warm": "sac+demos, actor held at the BC policy for the first 2,000 gradient steps, initial entropy 0.01",
    "sac+demos_warmbc4": "sac+demos_warm with 4 BC steps per SAC gradient step",
    "sac+demos_warmstd": "sac+demos_warm with the cloned actor's starting action std set to 0.2",
    "sac+demos_qfilter": "sac+demos_warmstd with the TD3+BC actor loss (alpha 2.5 / mean|Q| times SAC's actor "
    "objective, plus the BC term on the batch's demo rows where Q(s, a_demo) >= Q(s, pi(s)): Q-filter, Nair et al. "
    "2018) instead of separate BC steps (`BinPicking-sac+demos_qfilter.yaml`)",
    "sac+demos_td3bc": "sac+demos_qfilter with alpha 0.1 (not 2.5) and the BC term on every demo row (no Q-filter: "
    "with it the critic rated the actor's action above the demonstrated one on ~100% of demo rows, so the BC term "
    "vanished) (`BinPicking-sac+demos_td3bc.yaml`)",
    "sac+demos_slow": "sac+demos_warmstd with learning rate 1e-4 (not 3e-4) and 4 BC steps per SAC gradient step",
}


def write_table(groups: dict[tuple[str, str], list[dict]], out: Path) -> None:
    lines = [
        "# Reinforcement-learning results",
        "",
        "Regenerate (2-core x86-64, no GPU, shared with other jobs; torch on 1 thread):",
        "",
        "```bash",
        "python experiments/train_grid.py --tasks Reach --methods sac_her --seeds 0 1 2 --results /tmp/grid",
        "python experiments/train_grid.py --tasks BinPicking --methods sac+demos sac --seeds 0 --results /tmp/grid",
        "python experiments/train_grid.py --tasks BinPicking --methods sac+demos_qfilter --seeds 0 --results /tmp/grid",
        "python experiments/train_grid.py --tasks BinPicking --methods sac+demos_td3bc sac --seeds 0 1 2 "
        "--results /tmp/grid",
        "python experiments/rl_report.py",
        "```",
        "",
        "Final success rate on 100 (Reach) or 50 (BinPicking) evaluation episodes seeded 1,000,000 + k; the curves",
        "(`learning_rl_<Task>.png`) evaluate 20-50 episodes every `eval_every` steps. Wall-clock is the whole",
        "training time of one seed (environment steps, gradient steps and the periodic evaluations).",
        f"'first >= {TARGET_SUCCESS:.0%}' is the first curve point at or above {TARGET_SUCCESS:.0%} success;",
        "'curve mean' is the mean success over all curve points (equally spaced in env steps: area under curve).",
        "",
        f"| task | method | seeds | final success | per seed | env steps | wall-clock per seed | "
        f"first >= {TARGET_SUCCESS:.0%} (steps, wall-clock) | curve mean |",
        "|---|---|---:|---:|---|---:|---:|---|---:|",
    ]
    for (task, method), results in sorted(groups.items()):
        rates = np.array([r["success_rate"] for r in results])
        walls = np.array([r["train_wall_s"] for r in results])
        per_seed = ", ".join(f"{v:.0%}" for v in rates)
        steps = int(np.mean([r["env_steps"] for r in results]))
        curve_mean = np.mean([r["curve3"][:, 2].mean() for r in results])  # area under the curve / steps
        reached = [first_reaching(r["curve3"], TARGET_SUCCESS) for r in results]
        reached_text = "; ".join("never" if hit is None else f"{hit[0]:,.0f} steps, {hit[1]:.0f} s" for hit in reached)
        lines.append(
            f"| {task} | {method} | {len(results)} | **{rates.mean():.1%} ± {rates.std():.1%}** | [{per_seed}] "
            f"| {steps:,} | {walls.mean():.0f} s | {reached_text} | {curve_mean:.0%} |"
        )
    lines += ["", "Methods:", ""]
    lines += [f"- `{m}`: {METHOD_NOTES[m]}" for m in sorted({m for _, m in groups}) if m in METHOD_NOTES]
    out.write_text("\n".join(lines) + "\n")


def plot(groups: dict[tuple[str, str], list[dict]], results_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for task in sorted({t for t, _ in groups}):
        fig, (by_steps, by_wall) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
        for (t, method), results in sorted(groups.items()):
            if t != task:
                continue
            for result in results:
                curve = result["curve3"]
                label = f"{method} s{result['seed']}"
                (line,) = by_steps.plot(curve[:, 0], curve[:, 2], label=label)
                by_wall.plot(curve[:, 1] / 60.0, curve[:, 2], color=line.get_color(), label=label)
        by_steps.set_xlabel("environment steps")
        by_wall.set_xlabel("training wall-clock (min)")
        for ax in (by_steps, by_wall):
            ax.set_ylabel("success rate")
            ax.set_ylim(-0.02, 1.02)
            ax.axhline(TARGET_SUCCESS, color="grey", lw=0.8, ls="--")
            ax.grid(alpha=0.3)
            ax.legend(loc="best", fontsize=8)
        fig.suptitle(f"{task}: success rate on fixed evaluation seeds")
        fig.tight_layout()
        path = results_dir / f"learning_rl_{task}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


#: (task, methods) compared at equal environment steps in one figure of their seed-mean curves
COMPARISONS = (("BinPicking", ("sac", "sac+demos_td3bc")),)


def plot_comparison(groups: dict[tuple[str, str], list[dict]], task: str, methods: tuple[str, ...],
                    results_dir: Path) -> Path | None:  # fmt: skip
    """Mean success over seeds against env steps, with the seeds' range shaded, one line per method."""
    if any((task, m) not in groups for m in methods):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    for method in methods:
        curves = [r["curve3"] for r in groups[(task, method)] if len(r["curve3"]) > 1]
        length = min(len(c) for c in curves)
        steps = curves[0][:length, 0]
        rates = np.stack([c[:length, 2] for c in curves])
        (line,) = ax.plot(steps, rates.mean(axis=0), label=f"{method} ({len(curves)} seeds)")
        ax.fill_between(steps, rates.min(axis=0), rates.max(axis=0), color=line.get_color(), alpha=0.2)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("success rate (20 episodes)")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    ax.set_title(f"{task}: {' vs '.join(methods)} (mean, range over seeds)")
    fig.tight_layout()
    path = results_dir / f"learning_rl_{task}_{'_vs_'.join(m.replace('+', '') for m in methods)}.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=RUNS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    groups = rl_groups(args.runs)
    args.results.mkdir(parents=True, exist_ok=True)
    write_table(groups, args.results / "learning_rl.md")
    for path in plot(groups, args.results):
        print(f"wrote {path}")
    for task, methods in COMPARISONS:
        path = plot_comparison(groups, task, methods, args.results)
        if path is not None:
            print(f"wrote {path}")
    print(f"wrote {args.results / 'learning_rl.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
