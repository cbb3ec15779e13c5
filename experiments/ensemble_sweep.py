"""How a chunked clone's temporal ensemble should weigh its chunks: success against ``bc_ensemble_decay``.

    python experiments/ensemble_sweep.py RUN                         # validation episodes (seeds from 2,000,000)
    python experiments/ensemble_sweep.py RUN --decays 0.01 -1 --seed 1000000   # the held-out test episodes
    python experiments/ensemble_sweep.py runs/suite/*-bc-s* --decays 0.01 -0.3 -1 --episodes 50   # a suite's clones

A clone trained with ``bc_chunk`` k > 1 acts on the weighted mean of every chunk that covers the step; a chunk
predicted i steps before the newest weighs exp(-decay * (k - 1 - i)). ACT's 0.01 weighs them nearly alike, so
what the policy sees now moves the executed action by about 1/k; a negative decay lets the newest chunk lead.
The weighting is chosen after training, like any hyperparameter: on validation episodes (``VALIDATION_SEED``
onwards, disjoint from the demonstrations and from the final evaluation's seeds), then reported once on the test
episodes. The policy and its env options are the run's own; only the weighting changes. Given several runs (a
recipe's clones of every task and seed), it also prints each task's mean over its seeds per decay and how many
tasks reach ``--target``: one weighting for a whole recipe is chosen on those.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import embodia  # noqa: F401  (headless GL backend before mujoco loads)
from embodia.agents.learn.config import ensemble_decay_problem
from embodia.agents.learn.rollout import evaluate_success
from embodia.agents.learn.train import VALIDATION_SEED
from embodia.agents.learn.trained import PolicyLoadError, TrainedPolicy, load_trained_policy
from embodia.commands.common import positive_int, seed_int

DECAYS = (0.01, -0.3, -0.6, -1.0, -1.5, -2.5)


def _load_chunked(parser: argparse.ArgumentParser, run: str, decays: list[float]) -> TrainedPolicy:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the code-equivalence warning: the run is named on the command line
        try:
            trained = load_trained_policy(run)
        except PolicyLoadError as error:
            parser.error(str(error))
    if trained.actor.chunk < 2:
        parser.error(f"{run} acts one action per step (bc_chunk 1): it has no ensemble to weigh")
    problems = [ensemble_decay_problem(decay, trained.actor.chunk) for decay in decays]
    if any(problems):
        parser.error(f"{run}: {next(p for p in problems if p)}")
    return trained


def _suite_lines(rates: dict[str, dict[float, list[float]]], decays: list[float], target: float) -> list[str]:
    """Per task, the mean over its runs at each decay; then how many tasks reach ``target`` and the mean of all."""
    lines = ["", "| task | runs | " + " | ".join(f"{d:g}" for d in decays) + " |", "|---|---:|" + "---:|" * len(decays)]
    for env_id, by_decay in rates.items():
        means = [f"{np.mean(by_decay[d]):.1%}" for d in decays]
        lines.append(f"| {env_id} | {len(by_decay[decays[0]])} | " + " | ".join(means) + " |")
    reached = [sum(np.mean(by_decay[d]) >= target for by_decay in rates.values()) for d in decays]
    overall = [np.mean([np.mean(by_decay[d]) for by_decay in rates.values()]) for d in decays]
    lines.append(f"| tasks at {target:.0%} or more | | " + " | ".join(str(r) for r in reached) + " |")
    lines.append("| mean over tasks | | " + " | ".join(f"{m:.1%}" for m in overall) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="RUN", help="BC run folders with bc_chunk > 1")
    parser.add_argument("--decays", type=float, nargs="+", default=list(DECAYS))
    parser.add_argument("--episodes", type=positive_int, default=100)
    parser.add_argument("--seed", type=seed_int, default=VALIDATION_SEED, help="the first episode seed")
    parser.add_argument("--num-envs", type=positive_int, default=20, help="as the final evaluation runs them")
    parser.add_argument("--target", type=float, default=0.8, help="the success rate a task's mean is counted at")
    args = parser.parse_args(argv)
    if not 0 < args.target <= 1:
        parser.error(f"--target {args.target!r} is not valid; valid: a success rate in (0, 1]")
    rates: dict[str, dict[float, list[float]]] = {}
    print(f"{args.episodes} episodes from seed {args.seed}")
    print("| run | chunk | bc_ensemble_decay | success | s |")
    print("|---|---:|---:|---:|---:|")
    clones = [(run, _load_chunked(parser, run, args.decays)) for run in args.runs]  # every run checked first
    for run, trained in clones:
        for decay in args.decays:
            trained.actor.ensemble_decay = decay
            start = time.perf_counter()
            result = evaluate_success(
                trained.env_id, trained.actor, args.episodes, args.seed, args.num_envs, trained.env_kwargs
            )
            rates.setdefault(trained.env_id, {}).setdefault(decay, []).append(result["success_rate"])
            print(f"| {run} | {trained.actor.chunk} | {decay:g} | {result['success_rate']:.0%} | "
                  f"{time.perf_counter() - start:.0f} |", flush=True)  # fmt: skip
    if len(args.runs) > 1:
        print("\n".join(_suite_lines(rates, args.decays, args.target)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
