"""How a chunked clone's temporal ensemble should weigh its chunks: success against ``bc_ensemble_decay``.

    python experiments/ensemble_sweep.py RUN                         # validation episodes (seeds from 2,000,000)
    python experiments/ensemble_sweep.py RUN --decays 0.01 -1 --seed 1000000   # the held-out test episodes

A clone trained with ``bc_chunk`` k > 1 acts on the weighted mean of every chunk that covers the step; a chunk
predicted i steps before the newest weighs exp(-decay * (k - 1 - i)). ACT's 0.01 weighs them nearly alike, so
what the policy sees now moves the executed action by about 1/k; a negative decay lets the newest chunk lead.
The weighting is chosen after training, like any hyperparameter: on validation episodes (``VALIDATION_SEED``
onwards, disjoint from the demonstrations and from the final evaluation's seeds), then reported once on the test
episodes. The policy and its env options are the run's own; only the weighting changes.
"""

from __future__ import annotations

import argparse
import time
import warnings

import embodia  # noqa: F401  (headless GL backend before mujoco loads)
from embodia.agents.learn.config import ensemble_decay_problem
from embodia.agents.learn.rollout import evaluate_success
from embodia.agents.learn.train import VALIDATION_SEED
from embodia.agents.learn.trained import PolicyLoadError, load_trained_policy
from embodia.commands.common import positive_int, seed_int

DECAYS = (0.01, -0.3, -0.6, -1.0, -1.5, -2.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a BC run folder with bc_chunk > 1")
    parser.add_argument("--decays", type=float, nargs="+", default=list(DECAYS))
    parser.add_argument("--episodes", type=positive_int, default=100)
    parser.add_argument("--seed", type=seed_int, default=VALIDATION_SEED, help="the first episode seed")
    parser.add_argument("--num-envs", type=positive_int, default=20, help="as the final evaluation runs them")
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the code-equivalence warning: the run is named on the command line
        try:
            trained = load_trained_policy(args.run)
        except PolicyLoadError as error:
            parser.error(str(error))
    if trained.actor.chunk < 2:
        parser.error(f"{args.run} acts one action per step (bc_chunk 1): it has no ensemble to weigh")
    problems = [ensemble_decay_problem(decay, trained.actor.chunk) for decay in args.decays]
    if any(problems):
        parser.error(next(p for p in problems if p))
    print(f"{trained.env_id}, chunk {trained.actor.chunk}, {args.episodes} episodes from seed {args.seed}")
    print("| bc_ensemble_decay | success | s |")
    print("|---:|---:|---:|")
    for decay in args.decays:
        trained.actor.ensemble_decay = decay
        start = time.perf_counter()
        result = evaluate_success(
            trained.env_id, trained.actor, args.episodes, args.seed, args.num_envs, trained.env_kwargs
        )
        print(f"| {decay:g} | {result['success_rate']:.0%} | {time.perf_counter() - start:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
