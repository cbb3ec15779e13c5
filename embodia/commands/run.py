"""``embodia run``: a policy for N episodes, its success rate, and optionally a recorded run folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from embodia.commands.common import UsageError, check_task, size_arg


def cmd_run(args: argparse.Namespace) -> int:
    from embodia.agents.evaluate import run_episodes
    from embodia.envs.record.recorder import VideoOptions

    env_id = check_task(args.task)
    if args.episodes < 1 or args.num_envs < 1:
        raise UsageError("--episodes and --num-envs must be positive")
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
            policy=args.policy,
            episodes=args.episodes,
            seed=args.seed,
            num_envs=args.num_envs,
            record_dir=args.record,
            video_options=video,
            progress=not args.quiet,
            env_kwargs={"render_preset": args.render_preset},
            overwrite=args.overwrite,
            video=not args.no_video,
        )
    except ImportError as error:
        raise UsageError(f"task {env_id!r} is registered but cannot be loaded: {error}") from None
    except (FileExistsError, ValueError) as error:
        raise UsageError(str(error)) from None
    episodes = summary["per_episode"]
    successes = sum(e["success"] for e in episodes)
    print(
        f"{env_id} {args.policy}: success rate {summary['success_rate']:.1%} ({successes}/{len(episodes)}), "
        f"mean return {summary['mean_return']:.3f}, mean length {summary['mean_length']:.1f}, "
        f"fail rate {summary['fail_rate']:.1%}"
    )
    if args.record is not None:
        print(f"output: {Path(args.record).resolve()}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="run a policy for N episodes; print the success rate; optionally record")
    run.add_argument("task", metavar="TASK", help="task id, e.g. embodia/BinPicking-v0")
    run.add_argument("--policy", choices=("expert", "random"), default="expert")
    run.add_argument("--episodes", type=int, default=10)
    run.add_argument("--seed", type=int, default=0, help="episode k is seeded with SEED + k")
    run.add_argument("--num-envs", type=int, default=1, help="simulations run side by side (results do not change)")
    run.add_argument("--record", metavar="DIR", type=Path, help="write episodes, videos and summary.json here")
    run.add_argument(
        "--camera", action="append", help="camera of the videos (front, side, top, robot/wrist); repeat to tile"
    )
    run.add_argument("--render-size", type=size_arg, default=(480, 640), metavar="HxW", help="video size")
    run.add_argument("--render-preset", choices=("quality", "fast"), default="quality", help="fast: no shadows")
    run.add_argument("--no-video", action="store_true", help="record episode files without MP4s")
    run.add_argument("--no-overlay", action="store_true", help="videos without the step/reward/success overlay")
    run.add_argument("--gif", action="store_true", help="also a GIF per episode")
    run.add_argument("--overwrite", action="store_true", help="replace a run already recorded in DIR")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=cmd_run)
