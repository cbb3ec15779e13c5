"""Scripted measurements of the hand on the hand bench, in millimetres and newtons (tests and
``experiments/hand_physics.py`` read the same figures).

Each probe drives the arm through the normal ``ee_delta`` action space, as a policy would: move the tool centre
point onto the block, close with a gripper action, lift, shake. Contact figures are read from the simulation's
exact state (``mj_forward`` on a copy), never from the controller's intent.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from embodia.agents.experts import motion
from embodia.envs.core.batched_env import BatchedEnv
from embodia.envs.tasks.hand_bench import BENCH_TOP_Z, STEEL_DENSITY_KG_M3, HandBench

#: thin parts are taken with the fingertips pressed lightly on the table: the TCP 7.5 mm above it puts the pads'
#: lower edges 1.5 mm into the table, enough to keep them down while the jaws close across the bench
THIN_PART_TCP_HEIGHT_M = 0.0075
#: parts at most this tall are taken from the table's surface, taller ones at their middle
THIN_PART_HEIGHT_M = 0.01
APPROACH_STEPS = 50
CLOSE_STEPS = 20
LIFT_M = 0.15
LIFT_STEPS = 30


@dataclass
class Grasp:
    """What a closed hand does to a block: jaw opening, per-pad squeeze and sinking, how far the block rose."""

    width_m: float
    squeeze_n: tuple[float, float]  # normal force of each pad on the block
    sink_m: float  # deepest pad penetration into the block
    lifted_m: float = 0.0


class HandProbe:
    """One hand bench (a batch of one) and the scripted moves that measure it."""

    def __init__(self, block_half_size_m=(0.02, 0.03, 0.03), block_mass_kg: float | None = None) -> None:
        volume = 8 * float(np.prod(block_half_size_m))
        density = STEEL_DENSITY_KG_M3 if block_mass_kg is None else block_mass_kg / volume
        self.env = BatchedEnv(HandBench, 1, block_half_size_m=tuple(block_half_size_m), block_density_kg_m3=density)
        self.block_half_size_m = block_half_size_m
        _, self.info = self.env.reset(seeds=[0])
        self.data = mujoco.MjData(self.env.model)

    def close(self) -> None:
        self.env.close()

    @property
    def state(self) -> dict[str, np.ndarray]:
        return self.info["state"]

    def step(self, target: np.ndarray | None, grip: float) -> None:
        """One control step: TCP towards ``target`` (None: no translation), tool pointing down, jaws at ``grip``."""
        state = self.state
        action = np.zeros((1, 7))
        if target is not None:
            action[:, :3] = motion.translate(state["tcp_pos"], target[None])
        action[:, 3:6] = motion.point_down(state["tcp_xmat"], np.zeros(1))
        action[:, 6] = grip
        *_, self.info = self.env.step(action)

    def width_m(self) -> float:
        return float(self.env.robot.gripper_width(self.env.sim)[0])

    def grasp_point(self) -> np.ndarray:
        block = self.state["block_pos"][0].copy()
        if 2 * self.block_half_size_m[2] <= THIN_PART_HEIGHT_M:
            block[2] = BENCH_TOP_Z + THIN_PART_TCP_HEIGHT_M
        return block

    def grasp(self, grip: float = -1.0) -> Grasp:
        """Move onto the block with open jaws, close with ``grip`` and hold the TCP there."""
        target = self.grasp_point()
        for _ in range(APPROACH_STEPS):
            self.step(target, 1.0)
        for _ in range(CLOSE_STEPS):
            self.step(target, grip)
        return self.measure()

    def lift(self, grip: float = -1.0) -> float:
        """Raise the TCP by 15 cm holding ``grip``; how far the block rose, in m."""
        start = self.state["block_pos"][0, 2]
        target = self.state["tcp_pos"][0] + [0.0, 0.0, LIFT_M]
        for _ in range(LIFT_STEPS):
            self.step(target, grip)
        return float(self.state["block_pos"][0, 2] - start)

    def shake(self, steps: int = 40, grip: float = -1.0) -> tuple[float, float]:
        """Full-speed reversals up-down and sideways; (peak TCP acceleration in m/s^2, slip of the block in the
        hand in m). The acceleration is the second difference of the TCP over a control step, a 50 ms average."""
        before = self.state["block_pos"][0] - self.state["tcp_pos"][0]
        positions = []
        for k in range(steps):
            state = self.state
            action = np.zeros((1, 7))
            action[:, 1] = 1.0 if (k // 3) % 2 == 0 else -1.0
            action[:, 2] = 1.0 if (k // 2) % 2 == 0 else -1.0
            action[:, 3:6] = motion.point_down(state["tcp_xmat"], np.zeros(1))
            action[:, 6] = grip
            *_, self.info = self.env.step(action)
            positions.append(self.state["tcp_pos"][0].copy())
        positions = np.array(positions)
        dt = self.env.sim.control_dt_s
        acceleration = (positions[2:] - 2 * positions[1:-1] + positions[:-2]) / dt**2
        after = self.state["block_pos"][0] - self.state["tcp_pos"][0]
        return float(np.linalg.norm(acceleration, axis=1).max()), float(np.linalg.norm(after - before))

    def measure(self) -> Grasp:
        """Pad forces and penetration from the simulation's exact state."""
        model, data, task = self.env.model, self.data, self.env.task
        mujoco.mj_setState(model, data, self.env.sim.state(0), mujoco.mjtState.mjSTATE_INTEGRATION)
        mujoco.mj_forward(model, data)
        squeeze = np.zeros(2)
        sink = 0.0
        wrench = np.zeros(6)
        for i in range(data.ncon):
            contact = data.contact[i]
            pair = (contact.geom1, contact.geom2)
            if task.block_geom not in pair:
                continue
            for side, pad in enumerate(task.pad_geoms):
                if pad in pair:
                    mujoco.mj_contactForce(model, data, i, wrench)
                    squeeze[side] += wrench[0]
                    sink = max(sink, -contact.dist)
        return Grasp(self.width_m(), (float(squeeze[0]), float(squeeze[1])), sink)


def settle_width(grip: float, steps: int = 20) -> np.ndarray:
    """Jaw opening (m) after each of ``steps`` control steps at gripper action ``grip``, in free air from open."""
    probe = HandProbe(block_half_size_m=(0.01, 0.01, 0.01))
    try:
        widths = []
        for _ in range(steps):
            probe.step(None, grip)
            widths.append(probe.width_m())
        return np.array(widths)
    finally:
        probe.close()
