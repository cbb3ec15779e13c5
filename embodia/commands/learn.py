"""``embodia train`` and ``embodia eval``: learn a policy on a task, and evaluate (and record) a trained one.

Torch and stable-baselines3 come with the ``learn`` extra and are imported inside the handlers, so the rest of
the CLI works without them. A trained policy is code-equivalent, like any model checkpoint: ``eval`` loads it only
from the path named on the command line, with a warning (see ``agents/policy.py``).

Ctrl-C and SIGTERM stop both cleanly, with one line and no traceback, exit status 128 + the signal number (130,
143): ``train`` keeps its last checkpoint (``--resume`` continues from it), ``eval --record`` keeps the finished
episodes and writes ``summary.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
import warnings
from pathlib import Path

from embodia.agents.learn.algorithms import ALGORITHMS
from embodia.commands.common import UsageError, add_distributed_arguments, check_task, distributed_options, seed_int

MISSING_EXTRA = "training needs the learn extra: pip install 'embodia[learn]'"


def _import_learning():
    try:
        from embodia.agents.learn import train as training
    except ImportError as error:
        missing = error.name or "a package"
        raise UsageError(f"{MISSING_EXTRA} ({missing} is not installed)") from None
    return training


def default_run_dir(env_id: str, algo: str, seed: int) -> Path:
    task = env_id.split("/")[-1]
    return Path("runs") / "train" / f"{task}-{re.sub(r'[^A-Za-z0-9]+', '_', algo)}-s{seed}"


def print_warnings(caught: list) -> None:
    """Our own warnings (a model file is a pickle, a policy is code-equivalent) reach the user on stderr, whatever
    the warning filters say."""
    for warning in caught:
        if "pickle" in str(warning.message) or "code-equivalent" in str(warning.message):
            print(f"embodia: warning: {warning.message}", file=sys.stderr)


def on_stop(args: argparse.Namespace) -> str:
    """What a stopped command leaves behind, for its one line."""
    if args.command == "train":
        run_dir = args.out or default_run_dir(args.task, args.algo, args.seed)
        checkpoints = sorted(Path(run_dir).glob("checkpoints/model_*.zip"))
        if checkpoints:
            return f"; {run_dir} keeps its last checkpoint, continue with: embodia train ... --out {run_dir} --resume"
        return f"; no checkpoint was written yet in {run_dir}"
    if getattr(args, "record", None) is not None:
        return f"; finished episodes and summary.json are in {args.record}"
    return ""


def cmd_train(args: argparse.Namespace) -> int:
    env_id = check_task(args.task)
    training = _import_learning()
    from embodia.agents.learn.config import ConfigError, load_config
    from embodia.agents.learn.dataset import DatasetError

    run_dir = args.out or default_run_dir(env_id, args.algo, args.seed)
    overrides = {}
    if args.steps is not None:
        overrides["total_steps"] = args.steps
    if args.demos is not None:
        overrides["demos"] = args.demos
    try:
        config = load_config(args.config, overrides)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = training.train(env_id, args.algo, config, args.seed, run_dir, args.resume, not args.quiet)
        print_warnings(caught)
    except (ConfigError, DatasetError, training.RunError, FileNotFoundError) as error:
        raise UsageError(str(error)) from None
    print(
        f"{env_id} {args.algo} seed {args.seed}: success rate {result['success_rate']:.1%} over "
        f"{result['episodes']} evaluation episodes, {result['env_steps']} env steps, {result['train_wall_s']:.0f} s"
    )
    print_outputs(Path(run_dir))
    return 0


def print_outputs(run_dir: Path) -> None:
    """The run folder, and its learning curve and TensorBoard folder: only those the run wrote."""
    tensorboard = f"  (tensorboard --logdir {run_dir / 'tb'})" if (run_dir / "tb").is_dir() else ""
    print(f"output: {run_dir.resolve()}{tensorboard}")
    if (run_dir / "curve.png").is_file():
        print(f"learning curve: {run_dir / 'curve.png'}")


def cmd_eval(args: argparse.Namespace) -> int:
    _import_learning()
    from embodia.agents.distributed import DistributedError
    from embodia.agents.evaluate import run_episodes
    from embodia.agents.learn.trained import PolicyLoadError, load_trained_policy

    if args.episodes < 1 or args.num_envs < 1:
        raise UsageError("--episodes and --num-envs must be positive")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trained = load_trained_policy(args.run)
        print_warnings(caught)
    except PolicyLoadError as error:
        raise UsageError(str(error)) from None
    env_id = trained.env_id
    spread = distributed_options(args)
    factory = None
    if spread["workers"] or spread["resume"]:
        from embodia.agents.learn.trained import trained_actor

        factory = functools.partial(trained_actor, args.run, env_id)
    try:
        summary = run_episodes(
            env_id,
            policy=trained.name,
            actor=None if factory else trained.actor,
            actor_factory=factory,
            **spread,
            policy_info=trained.info,
            episodes=args.episodes,
            seed=args.seed,
            num_envs=args.num_envs,
            record_dir=args.record,
            progress=not args.quiet,
            env_kwargs=trained.env_kwargs,
            overwrite=args.overwrite,
            video=not args.no_video,
        )
    except (FileExistsError, FileNotFoundError, ValueError, DistributedError) as error:
        raise UsageError(str(error)) from None
    print(
        f"{env_id} {trained.info['policy_algo']}: success rate {summary['success_rate']:.1%} over "
        f"{summary['episodes']} episodes, mean return {summary['mean_return']:.3f}"
    )
    if args.record is not None:
        print(f"output: {Path(args.record).resolve()}")
    if args.json:
        print(json.dumps({k: v for k, v in summary.items() if k != "per_episode"}))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help=f"train a policy ({', '.join(ALGORITHMS)}); checkpoints, resume")
    train.add_argument("task", metavar="TASK", help="task id, e.g. embodia/Reach-v0")
    algo_help = "; ".join(f"{algorithm.name}: {algorithm.summary}" for algorithm in ALGORITHMS.values())
    train.add_argument("--algo", choices=ALGORITHMS, required=True, help=algo_help)
    train.add_argument("--config", type=Path, help="YAML config (experiments/configs/TASK-ALGO.yaml)")
    train.add_argument("--seed", type=seed_int, default=0)
    train.add_argument("--out", type=Path, help="run folder (default runs/train/TASK-ALGO-sSEED)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    train.add_argument("--steps", type=int, help="override the config's total_steps")
    train.add_argument("--demos", help="override the config's demos (run folder or Minari dataset id)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=cmd_train, on_stop=on_stop)

    evaluate = commands.add_parser("eval", help="evaluate a trained policy (a train run folder); optionally record")
    evaluate.add_argument(
        "run",
        metavar="RUN",
        type=Path,
        help="the run folder written by embodia train (or its policy.zip or a checkpoint)",
    )
    evaluate.add_argument("--episodes", type=int, default=20)
    evaluate.add_argument("--seed", type=seed_int, default=1_000_000, help="episode k is seeded SEED + k")
    evaluate.add_argument("--num-envs", type=int, default=10)
    evaluate.add_argument("--record", metavar="DIR", type=Path, help="record episodes and videos for review")
    evaluate.add_argument("--no-video", action="store_true", help="record episode files without MP4s")
    evaluate.add_argument("--overwrite", action="store_true", help="replace a run already recorded in DIR")
    evaluate.add_argument("--json", action="store_true", help="also print the summary as JSON")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    add_distributed_arguments(evaluate)
    evaluate.set_defaults(handler=cmd_eval, on_stop=on_stop)
