"""Does a zero arm action hold the TCP still? The ``ee_delta`` controller's drift after the arm is moved and let go.

    python experiments/hold_drift.py                      # Reach, lifted 0-60 steps at half speed, then let go
    python experiments/hold_drift.py --task BinPicking --lift-steps 8 16 24 --down   # lowered, towards the table

Each row resets the task (seed 0), drives the TCP straight up (or down) at half speed (``ee_delta`` z = +-0.5,
12.5 mm a step) for the given steps, then sends zero arm actions for 15 steps, jaws open. It prints how far the
TCP moved in steps 3-12 after the release (the servo settles within two): a controller that holds the pose
prints about 0.
Each row is run twice: as the controller is, and with its null-space pull towards the home posture switched off
(``nullspace_gain`` 0). What remains with the pull on, and not without it, is that pull leaking into the task
space. Before 2026-12-06 the controller projected the pull with the damped inverse of the least-squares solve,
and a TCP let go 92 mm above its start crept 3.95 mm in those 10 steps (183 mm up: 10.6 mm); it now projects with
a nearly undamped one (``EndEffectorDelta.projector_regularizer``), and the script checks that it holds.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import embodia  # noqa: F401  (registers the tasks)
from embodia.commands.common import positive_int, task_id_arg
from embodia.envs.control.controllers import EndEffectorDelta

RELEASED_STEPS = 15
WINDOW = slice(3, 13)  # steps after the release: the servo has settled
LIFT_RATE = 0.5


def drift_mm(
    env_id: str, lift_steps: int, nullspace_gain: float, rate: float = LIFT_RATE
) -> tuple[float, float, float]:
    """(TCP height gained while moved at ``rate`` in mm, vertical drift in ``WINDOW`` after the release in mm,
    the largest step of that drift in mm)."""
    default = EndEffectorDelta.nullspace_gain
    EndEffectorDelta.nullspace_gain = nullspace_gain
    env = gym.make(env_id, episode_steps=lift_steps + RELEASED_STEPS + 1)
    try:
        if env.unwrapped.core.controller.name != "ee_delta":
            raise SystemExit(f"{env_id} does not use the ee_delta controller")
        layout = env.unwrapped.core.controller.layout
        obs, _ = env.reset(seed=0)
        heights = [float(obs["robot_tcp_pos"][2])]
        action = np.zeros(env.action_space.shape, dtype=np.float32)
        action[layout["gripper"]] = 1.0
        for step in range(lift_steps + RELEASED_STEPS):
            action[layout["arm"].start + 2] = rate if step < lift_steps else 0.0
            obs, *_ = env.step(action)
            heights.append(float(obs["robot_tcp_pos"][2]))
    finally:
        env.close()
        EndEffectorDelta.nullspace_gain = default
    after = np.array(heights[lift_steps:])[WINDOW]
    return (
        (heights[lift_steps] - heights[0]) * 1e3,
        float(np.ptp(after)) * 1e3,
        float(np.abs(np.diff(after)).max()) * 1e3,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", type=task_id_arg, default="embodia/Reach-v0")
    parser.add_argument("--lift-steps", type=positive_int, nargs="+", default=[1, 12, 20, 30, 60])
    parser.add_argument("--down", action="store_true", help="move the TCP down instead of up")
    args = parser.parse_args()
    rate = -LIFT_RATE if args.down else LIFT_RATE
    print(f"{args.task}: TCP moved at {rate} x 25 mm/step in z, then zero arm actions\n")
    print("| moved steps | moved mm | drift mm (steps 3-12 after) | largest step mm | without the null-space pull |")
    print("|---:|---:|---:|---:|---:|")
    for steps in args.lift_steps:
        lifted, drift, largest = drift_mm(args.task, steps, EndEffectorDelta.nullspace_gain, rate)
        _, without, _ = drift_mm(args.task, steps, 0.0, rate)
        print(f"| {steps} | {lifted:.0f} | {drift:.2f} | {largest:.2f} | {without:.2f} |")


if __name__ == "__main__":
    main()
