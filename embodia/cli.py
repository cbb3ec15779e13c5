"""The ``embodia`` command: list tasks, describe one, run a policy on one (optionally recording).

Errors a user can fix (an unknown task, an occupied output folder, a bad camera name) print one line and exit
with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import embodia
from embodia.registration import TASKS

USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake in the command line: reported in one line with exit status 2."""


def check_task(env_id: str) -> str:
    if env_id not in TASKS:
        raise UsageError(f"unknown task {env_id!r}; valid: {', '.join(TASKS)}")
    return env_id


def size_arg(text: str) -> tuple[int, int]:
    """``HEIGHTxWIDTH`` (e.g. ``480x640``)."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 480x640, got {text!r}") from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return height, width


def make_env(env_id: str):
    """A one-simulation env of ``env_id``; a task that cannot be imported is a one-line error."""
    from embodia.envs.core.batched_env import BatchedEnv

    try:
        return BatchedEnv(TASKS[env_id].task, 1)
    except ImportError as error:
        raise UsageError(f"task {env_id!r} is registered but cannot be loaded: {error}") from None


def action_lines(env) -> list[str]:
    """The action layout, index by index, with units."""
    from embodia.envs.scene import panda

    controller = env.controller
    arm = controller.layout["arm"]
    gripper = controller.layout["gripper"].start
    if controller.name == "ee_delta":
        lines = [
            f"  [0:3] TCP translation (world frame), x {controller.position_scale_m} m per step",
            f"  [3:6] TCP rotation vector (world frame), x {controller.rotation_scale_rad} rad per step",
        ]
    else:
        lines = [f"  [{arm.start}:{arm.stop}] arm joints ({controller.name})"]
    width_mm = round(panda.GRIPPER_MAX_WIDTH_M * 1000)
    lines.append(f"  [{gripper}] gripper: -1 closed, +1 fully open ({width_mm} mm)")
    return lines


def cmd_list(args: argparse.Namespace) -> int:
    width = max(len(env_id) for env_id in TASKS)
    for env_id, entry in TASKS.items():
        print(f"{env_id:<{width}}  {entry.summary}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    env_id = check_task(args.task)
    env = make_env(env_id)
    config, model = env.config, env.model
    action_space = env.single_action_space
    print(f"{env_id}: {TASKS[env_id].summary}")
    print(f"task: {TASKS[env_id].task}    expert: {TASKS[env_id].expert}")
    print(
        f"control: {env.controller.name} at {config.control_hz:g} Hz; physics timestep {model.opt.timestep:g} s, "
        f"{env.sim.substeps} substeps per control step"
    )
    print(f"episode: {config.episode_steps} steps ({config.episode_steps / config.control_hz:g} s)")
    print(f"action: {action_space} ({env.controller.name} layout)")
    print("\n".join(action_lines(env)))
    print("observation:")
    spaces = env.single_observation_space.spaces
    width = max(len(key) for key in spaces)
    for key, space in spaces.items():
        print(f"  {key:<{width}}  {space.shape} {space.dtype}")
    weights = ", ".join(f"{name} {weight:g}" for name, weight in env.reward_weights.items())
    print(f"reward ({config.reward_mode}): {weights}")
    cameras = [model.camera(i).name for i in range(model.ncam)]
    print(f"cameras: {', '.join(cameras)}")
    env.close()
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from embodia.agents.evaluate import run_episodes

    env_id = check_task(args.task)
    if args.episodes < 1 or args.num_envs < 1:
        raise UsageError("--episodes and --num-envs must be positive")
    try:
        summary = run_episodes(
            env_id,
            policy=args.policy,
            episodes=args.episodes,
            seed=args.seed,
            num_envs=args.num_envs,
            record_dir=args.record,
            render_camera=args.camera,
            render_size=args.render_size,
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="embodia", description=embodia.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"embodia {embodia.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("list", help="tasks with their one-line summaries").set_defaults(handler=cmd_list)

    info = commands.add_parser("info", help="spaces, action layout, control rate and episode length of a task")
    info.add_argument("task", metavar="TASK", help="task id, e.g. embodia/BinPicking-v0")
    info.set_defaults(handler=cmd_info)

    run = commands.add_parser("run", help="run a policy for N episodes; print the success rate; optionally record")
    run.add_argument("task", metavar="TASK", help="task id, e.g. embodia/BinPicking-v0")
    run.add_argument("--policy", choices=("expert", "random"), default="expert")
    run.add_argument("--episodes", type=int, default=10)
    run.add_argument("--seed", type=int, default=0, help="episode k is seeded with SEED + k")
    run.add_argument("--num-envs", type=int, default=1, help="simulations run side by side (results do not change)")
    run.add_argument("--record", metavar="DIR", type=Path, help="write episodes, videos and summary.json here")
    run.add_argument("--camera", default="front", help="camera of the videos (front, side, top, robot/wrist)")
    run.add_argument("--render-size", type=size_arg, default=(480, 640), metavar="HxW", help="video size")
    run.add_argument("--render-preset", choices=("quality", "fast"), default="quality", help="fast: no shadows")
    run.add_argument("--no-video", action="store_true", help="record episode files without MP4s")
    run.add_argument("--overwrite", action="store_true", help="replace a run already recorded in DIR")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as error:
        print(f"embodia: error: {error}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
