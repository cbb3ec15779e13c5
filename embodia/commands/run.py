"""``embodia run``: a policy for N episodes, its success rate, and optionally a recorded run folder.

The policy is the task's scripted expert, random actions, or a trained one: a run folder written by
``embodia train`` (or a policy file in it). A trained policy is code-equivalent, like any model checkpoint: it is
loaded only from the path named on the command line, with a warning (see ``agents/policy.py``).

Ctrl-C and SIGTERM stop the run cleanly: the episodes in flight are dropped, the finished ones and ``summary.json``
stay, no traceback, and the exit status is 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM).
"""

from __future__ import annotations

import argparse
import functools
import sys
import warnings
from pathlib import Path
from typing import Any

from embodia.commands.common import (
    UsageError,
    add_distributed_arguments,
    check_task,
    distributed_options,
    option_arg,
    seed_int,
    size_arg,
)
from embodia.envs.core.rendering import RENDER_PRESETS

POLICY_HELP = (
    "expert (the task's scripted expert), random, or a trained policy: a run folder written by `embodia train`, "
    "its policy.zip or a checkpoints/model_<steps>.zip (code-equivalent: load only your own)"
)


def on_stop(args: argparse.Namespace) -> str:
    """What a run stopped by Ctrl-C or SIGTERM leaves behind, for the CLI's one line."""
    return f"; finished episodes and summary.json are in {args.record}" if args.record is not None else ""


def load_policy(path: str, env_id: str):
    """A trained policy for ``env_id`` from ``path``; anything wrong is a one-line usage error."""
    from embodia.agents.learn.trained import PolicyLoadError, load_trained_policy

    if not Path(path).exists():
        raise UsageError(
            f"--policy {path!r} is neither expert, random nor an existing run folder or policy file of `embodia train`"
        )
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trained = load_trained_policy(path, env_id)
    except PolicyLoadError as error:
        raise UsageError(str(error)) from None
    for warning in caught:
        if "code-equivalent" in str(warning.message):
            print(f"embodia: warning: {warning.message}", file=sys.stderr)
    return trained


def checked_options(env_id: str, options: list[tuple[str, Any]]) -> dict[str, Any]:
    """``--option`` pairs as env kwargs, each checked as the env checks it (before anything is built)."""
    from embodia.envs.core.batched_env import resolve_task, split_options

    chosen = dict(options)
    try:
        split_options(resolve_task(env_id), chosen)
    except (TypeError, ValueError) as error:
        raise UsageError(f"--option: {error}") from None
    return chosen


def cmd_run(args: argparse.Namespace) -> int:
    from embodia.agents.distributed import DistributedError
    from embodia.agents.evaluate import run_episodes
    from embodia.agents.learn.trained import is_policy_path
    from embodia.envs.record.recorder import VideoOptions

    env_id = check_task(args.task)
    if args.episodes < 1 or args.num_envs < 1:
        raise UsageError("--episodes and --num-envs must be positive")
    spread = distributed_options(args)
    policy, actor, policy_info, env_kwargs, factory = args.policy, None, None, {}, None
    if is_policy_path(args.policy):
        trained = load_policy(args.policy, env_id)
        policy, actor, policy_info, env_kwargs = trained.name, trained.actor, trained.info, trained.env_kwargs
        if spread["workers"] or spread["resume"]:
            from embodia.agents.learn.trained import trained_actor

            actor, factory = None, functools.partial(trained_actor, args.policy, env_id)
    env_kwargs = {**env_kwargs, **checked_options(env_id, args.option or [])}
    try:
        video = VideoOptions(
            cameras=tuple(args.camera or ["front"]),
            size=args.render_size,
            preset=args.render_preset,
            overlay=not args.no_overlay,
            gif=args.gif,
        )
        summary = run_episodes(
            env_id,
            policy=policy,
            episodes=args.episodes,
            seed=args.seed,
            num_envs=args.num_envs,
            record_dir=args.record,
            video_options=video,
            progress=not args.quiet,
            env_kwargs={**env_kwargs, "render_preset": args.render_preset},
            overwrite=args.overwrite,
            video=not args.no_video,
            actor=actor,
            policy_info=policy_info,
            actor_factory=factory,
            **spread,
        )
    except ImportError as error:
        raise UsageError(f"task {env_id!r} is registered but cannot be loaded: {error}") from None
    except (FileExistsError, FileNotFoundError, ValueError, DistributedError) as error:
        raise UsageError(str(error)) from None
    episodes = summary["per_episode"]
    successes = sum(e["success"] for e in episodes)
    print(
        f"{env_id} {policy}: success rate {summary['success_rate']:.1%} ({successes}/{len(episodes)}), "
        f"mean return {summary['mean_return']:.3f}, mean length {summary['mean_length']:.1f}, "
        f"fail rate {summary['fail_rate']:.1%}"
    )
    if args.record is not None:
        print(f"output: {Path(args.record).resolve()}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="run a policy for N episodes; print the success rate; optionally record")
    run.add_argument("task", metavar="TASK", help="task id, e.g. embodia/BinPicking-v0")
    run.add_argument("--policy", default="expert", metavar="POLICY", help=POLICY_HELP)
    run.add_argument("--episodes", type=int, default=10)
    run.add_argument("--option", action="append", type=option_arg, metavar="NAME=VALUE",
                     help="a task or env option (e.g. terminate_on_success=false, episode_steps=150); repeat for more; "
                          "`embodia info TASK` lists them")  # fmt: skip
    run.add_argument("--seed", type=seed_int, default=0, help="episode k is seeded with SEED + k")
    run.add_argument("--num-envs", type=int, default=1, help="simulations run side by side (results do not change)")
    run.add_argument("--record", metavar="DIR", type=Path, help="write episodes, videos and summary.json here")
    run.add_argument(
        "--camera", action="append", help="camera of the videos (front, side, top, work, robot/wrist); repeat to tile"
    )
    run.add_argument("--render-size", type=size_arg, default=(480, 640), metavar="HxW", help="video size")
    run.add_argument("--render-preset", choices=tuple(RENDER_PRESETS), default="quality",
                     help="fast: no shadows; studio: antialiased, reflections, about a third as fast")  # fmt: skip
    run.add_argument("--no-video", action="store_true", help="record episode files without MP4s")
    run.add_argument("--no-overlay", action="store_true", help="videos without the step/reward/success overlay")
    run.add_argument("--gif", action="store_true", help="also a GIF per episode")
    run.add_argument("--overwrite", action="store_true", help="replace a run already recorded in DIR")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    add_distributed_arguments(run)
    run.set_defaults(handler=cmd_run, on_stop=on_stop)
