"""``embodia list`` and ``embodia info``: the registered tasks and what one of them looks like."""

from __future__ import annotations

import argparse

from embodia.commands.common import UsageError, check_task
from embodia.registration import TASKS


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


def register(commands: argparse._SubParsersAction) -> None:
    commands.add_parser("list", help="tasks with their one-line summaries").set_defaults(handler=cmd_list)
    info = commands.add_parser("info", help="spaces, action layout, control rate and episode length of a task")
    info.add_argument("task", metavar="TASK", help="task id, e.g. embodia/BinPicking-v0")
    info.set_defaults(handler=cmd_info)
