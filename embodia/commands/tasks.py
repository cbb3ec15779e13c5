"""``embodia list`` and ``embodia info``: the registered tasks and what one of them looks like.

``embodia info TASK`` prints the spaces, the action layout, the control rate and every option the task takes
(``gym.make(TASK, name=value)``), grouped: env options, task config, reward weights, physics (and the person, for
the care tasks), each with its default, unit and valid values where known; ``--json`` prints the same as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from typing import Any

from embodia.agents.policy import class_name
from embodia.commands.common import check_task
from embodia.envs.core.batched_env import make_batched

#: option groups in the order ``info`` prints them
from embodia.envs.tasks.registry import TASKS

GROUPS = ("env", "task", "reward", "physics", "person")
GROUP_TITLES = {
    "env": "env options",
    "task": "task config",
    "reward": "reward weights (dense reward = sum of weight x term)",
    "physics": "physics",
    "person": "person",
}


def make_env(env_id: str):
    """A one-simulation env of ``env_id`` (no renderer, no episode)."""
    return make_batched(env_id, 1)


def expert_path(env_id: str) -> str | None:
    from embodia.agents.experts import EXPERTS

    expert = EXPERTS.get(env_id)
    return None if expert is None else class_name(expert)


# ---------------------------------------------------------------------------------------------- options
def config_options(config_cls: type) -> list[Any]:
    """The option rows (``name``, ``default``, ``unit``, ``valid``, ``description``) of a task's config class or of
    ``EnvOptions``, as envs/tasks/base.py's ``describe_config`` gives them (valid ranges from the field metadata
    and naming conventions that construction checks)."""
    from embodia.envs.tasks.base import describe_config

    return describe_config(config_cls)


def group_of(name: str) -> str:
    if name == "physics" or name.startswith("physics."):
        return "physics"
    if name == "human" or name.startswith("human."):
        return "person"
    return "reward" if name.startswith("w_") else "task"


def env_option_choices(env) -> dict[str, str]:
    """Valid values of the env options that name one of a known set (the scene's cameras for the camera ones)."""
    from embodia.envs.control import CONTROL_MODES
    from embodia.envs.core.batched_env import OBS_MODES
    from embodia.envs.core.rendering import RENDER_PRESETS

    cameras = ", ".join(env.model.camera(i).name for i in range(env.model.ncam))
    return {
        "control_mode": "one of: " + ", ".join(CONTROL_MODES),
        "obs_mode": "one of: " + ", ".join(OBS_MODES),
        "cameras": f"a tuple of: {cameras}",
        "render_camera": f"one of: {cameras}",
        "render_preset": "one of: " + ", ".join(RENDER_PRESETS),
    }


def task_options(env) -> list[dict[str, Any]]:
    """Every option of the env's task, as dicts with ``group``, ``name``, ``default``, ``unit``, ``valid`` and
    ``description``, env options first. The defaults are the config class's, not the env's current values."""
    from embodia.envs.core.batched_env import EnvOptions

    choices = env_option_choices(env)
    options = []
    for row in config_options(EnvOptions):
        options.append(_row_dict("env", row, choices.get(row.name)))
    for row in config_options(type(env.config)):
        options.append(_row_dict(group_of(row.name), row))
    return sorted(options, key=lambda o: GROUPS.index(o["group"]))  # stable: field order within a group


def _row_dict(group: str, row: Any, valid: str | None = None) -> dict[str, Any]:
    default = row.default
    if dataclasses.is_dataclass(default):
        default = dataclasses.asdict(default)
    return {
        "group": group,
        "name": row.name,
        "default": default,
        "unit": row.unit or "",
        "valid": valid or row.valid or "",
        "description": row.description or "",
    }


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else str(value)
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_text(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{...}"
    return repr(value) if isinstance(value, str) else str(value)


def option_lines(options: list[dict[str, Any]]) -> list[str]:
    lines = []
    name_width = max(len(o["name"]) for o in options)
    default_width = min(24, max(len(_text(o["default"]) + (f" {o['unit']}" if o["unit"] else "")) for o in options))
    for group in GROUPS:
        rows = [o for o in options if o["group"] == group]
        if not rows:
            continue
        lines.append(f"  {GROUP_TITLES[group]}:")
        for o in rows:
            default = _text(o["default"]) + (f" {o['unit']}" if o["unit"] else "")
            notes = "; ".join(text for text in (o["valid"] and f"valid: {o['valid']}", o["description"]) if text)
            lines.append(f"    {o['name']:<{name_width}}  {default:<{default_width}}  {notes}".rstrip())
    return lines


# ---------------------------------------------------------------------------------------------- commands
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


def task_info(env_id: str, env) -> dict[str, Any]:
    """What ``embodia info --json`` prints."""
    config, model = env.config, env.model
    action_space = env.single_action_space
    return {
        "env_id": env_id,
        "summary": TASKS[env_id].summary,
        "task": class_name(TASKS[env_id].task),
        "expert": expert_path(env_id),
        "control_mode": env.controller.name,
        "control_hz": float(config.control_hz),
        "physics_timestep_s": float(model.opt.timestep),
        "substeps": int(env.sim.substeps),
        "episode_steps": int(config.episode_steps),
        "action": {
            "shape": list(action_space.shape),
            "low": float(action_space.low.min()),
            "high": float(action_space.high.max()),
            "layout": [line.strip() for line in action_lines(env)],
        },
        "observation": {
            key: {"shape": list(space.shape), "dtype": str(space.dtype)}
            for key, space in env.single_observation_space.spaces.items()
        },
        "reward_mode": config.reward_mode,
        "reward_weights": dict(env.reward_weights),
        "cameras": [model.camera(i).name for i in range(model.ncam)],
        "options": task_options(env),
    }


def cmd_info(args: argparse.Namespace) -> int:
    env_id = check_task(args.task)
    env = make_env(env_id)
    try:
        if args.json:
            print(json.dumps(task_info(env_id, env), indent=2, default=str))
            return 0
        config, model = env.config, env.model
        action_space = env.single_action_space
        print(f"{env_id}: {TASKS[env_id].summary}")
        print(f"task: {class_name(TASKS[env_id].task)}    expert: {expert_path(env_id)}")
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
        print(f"options (gym.make({env_id!r}, name=value); defaults shown):")
        print("\n".join(option_lines(task_options(env))))
    finally:
        env.close()
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    commands.add_parser("list", help="tasks with their one-line summaries").set_defaults(handler=cmd_list)
    info = commands.add_parser(
        "info", help="spaces, action layout, control rate, episode length and every option of a task"
    )
    info.add_argument("task", metavar="TASK", help="task id, e.g. embodia/BinPicking-v0")
    info.add_argument("--json", action="store_true", help="print it all as JSON (options with default, unit, valid)")
    info.set_defaults(handler=cmd_info)
