"""Arm and gripper controllers over a batch of simulations.

Every controller takes float actions in [-1, 1] (clipped by the env) with a named layout
(``arm``, ``gripper`` slices) so that experts and learners never hard-code indices.

- ``ee_delta`` (default): 7 dims. ``[0:3]`` tool-centre-point translation, ``x 0.025 m`` per step (0.5 m/s at
  20 Hz); ``[3:6]`` rotation vector in the world frame, ``x 0.12 rad`` per step; ``[6]`` gripper.
  Damped least squares on the TCP Jacobian, with a pull towards the home posture projected into the null space
  (the TCP holds still on a zero arm action; the elbow drifts home).
- ``joint_delta``: 8 dims. ``[0:7]`` joint position change, ``x 0.1 rad`` per step; ``[7]`` gripper.
- ``joint_abs``: 8 dims. ``[0:7]`` absolute joint positions mapped linearly onto the joint ranges; ``[7]`` gripper.

Gripper: the target jaw opening, linear over the 0-80 mm stroke (``-1`` closed, ``0`` 40 mm, ``+1`` 80 mm). The
commanded width moves towards it at the Franka Hand's jaw speed (0.1 m/s in width); a position servo on the
coupled fingers follows it, with its force limited to the hand's 70 N continuous. On a part, the force builds
from how far the target lies inside the part (about 20 N per mm, so 3.5 mm or more gives the full 70 N): ``-1``
grasps anything with 70 N, a target just below a part's width holds it gently. All joint commands respect the
Panda's joint velocity limits (per control step) and position limits.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np

from embodia.envs.physics.robot import RobotView
from embodia.envs.physics.sim import Simulation
from embodia.envs.scene import panda

#: The revision of the controllers' behaviour, recorded with every training run (as ``REWARD_REVISION`` is) so that a
#: results table can say which arm a row was learnt and evaluated on. 1: ``ee_delta`` projected its pull towards home
#: with the damped inverse, and a released TCP crept back towards home (0.5-1.5 mm a step after a 10-20 cm lift).
#: 2: the pull is projected with a nearly undamped inverse, and a zero arm action holds the TCP (2026-12-06).
CONTROLLER_REVISION = 2


class Controller(abc.ABC):
    """Shared gripper handling and the action layout; subclasses write the arm targets."""

    name: ClassVar[str]
    arm_dim: ClassVar[int]

    def __init__(self, robot: RobotView, num_sims: int, control_dt_s: float) -> None:
        self.robot = robot
        self.control_dt_s = control_dt_s
        self.layout = {"arm": slice(0, self.arm_dim), "gripper": slice(self.arm_dim, self.arm_dim + 1)}
        self.action_dim = self.arm_dim + 1
        self.gripper_command = np.full(num_sims, panda.GRIPPER_MAX_WIDTH_M)
        self.max_dq = robot.velocity_limit * control_dt_s
        self._max_width_change = panda.GRIPPER_SPEED_M_S * control_dt_s

    def reset(self, sim: Simulation, ids: np.ndarray) -> None:
        self.gripper_command[ids] = self.robot.gripper_width(sim)[ids]

    def apply(self, sim: Simulation, action: np.ndarray) -> None:
        """Write actuator targets for every simulation from ``action`` (n, action_dim), already in [-1, 1].

        Written with few numpy calls: at one simulation the step's cost is calls, not arithmetic.
        """
        robot = self.robot
        q = robot.joint_pos(sim)
        dq = np.minimum(np.maximum(self.arm_delta(sim, q, action[:, : self.arm_dim]), -self.max_dq), self.max_dq)
        sim.ctrl[:, robot.arm_actuators] = np.minimum(np.maximum(q + dq, robot.joint_low), robot.joint_high)
        sim.ctrl[:, robot.gripper_actuator] = self._gripper_command(sim, action[:, self.arm_dim])

    def _gripper_command(self, sim: Simulation, grip: np.ndarray) -> np.ndarray:
        """The jaw-width servo's set point for gripper actions ``grip`` (n,): the Franka Hand's ``move``/``grasp``.

        The action is the target opening, linear over the stroke (``-1`` closed, ``0`` 40 mm, ``+1`` 80 mm). The set
        point moves towards it at the hand's jaw speed. Closing on a part, it keeps moving past the part's width, and
        the servo's force builds from that position error up to the hand's 70 N: a target below the part is a
        grasp, and how far below sets the squeeze. Opening starts from where the jaws are (a set point wound down
        into a held part is not unwound first), and a squeeze is eased at once as far as the jaws' width.
        """
        target = (grip + 1.0) * (0.5 * panda.GRIPPER_MAX_WIDTH_M)
        command = self.gripper_command
        opening_from = np.maximum(command, np.minimum(self.robot.gripper_width(sim), target))
        start = np.where(target > command, opening_from, command)
        change = np.minimum(np.maximum(target - start, -self._max_width_change), self._max_width_change)
        self.gripper_command = start + change
        return self.gripper_command

    @abc.abstractmethod
    def arm_delta(self, sim: Simulation, q: np.ndarray, arm_action: np.ndarray) -> np.ndarray:
        """Joint position change (n, 7) for ``arm_action`` before velocity and position limits."""


class EndEffectorDelta(Controller):
    name = "ee_delta"
    arm_dim = 6
    position_scale_m = 0.025
    rotation_scale_rad = 0.12
    damping = 0.05
    nullspace_gain = 0.1
    #: the null-space projector's regulariser. Projected with the damped inverse (``damping``), the pull towards
    #: home leaked into the task space: a TCP released 92-183 mm above its start crept back 0.5-1.5 mm a step
    #: (``experiments/hold_drift.py``). This one keeps the projector's leak below a micrometre a step while the
    #: solve stays finite at a singular configuration (there the projector's eigenvalues are sigma^2 /
    #: (sigma^2 + 1e-8), within [0, 1), so the pull is never amplified)
    projector_regularizer = 1e-8
    _damping_eye = damping**2 * np.eye(6)
    _projector_eye = projector_regularizer * np.eye(6)
    _twist_scale = np.array([position_scale_m] * 3 + [rotation_scale_rad] * 3)

    def arm_delta(self, sim: Simulation, q: np.ndarray, arm_action: np.ndarray) -> np.ndarray:
        jac = self.robot.tcp_jacobian(sim)  # (n, 6, 7)
        jac_t = jac.transpose(0, 2, 1)
        jj_t = jac @ jac_t
        twist = arm_action * self._twist_scale
        posture = self.nullspace_gain * (self.robot.home_qpos - q)
        # dq = J+ twist + (I - P) posture: J+ = J^T (J J^T + d^2 I)^-1, damped, so that a twist near a singular
        # configuration asks for bounded joint speeds; P = J^T (J J^T + eps I)^-1 J, the projector onto the motions
        # that move the TCP, nearly undamped, so that the pull towards home moves the elbow and not the TCP.
        # matmul, not einsum: einsum's summation order depends on the batch size, and a simulation's
        # trajectory must not depend on how many run beside it
        toward = jac_t @ np.linalg.solve(jj_t + self._damping_eye, twist[:, :, None])
        seen_by_tcp = jac_t @ np.linalg.solve(jj_t + self._projector_eye, jac @ posture[:, :, None])
        return posture + (toward - seen_by_tcp)[:, :, 0]


class JointDelta(Controller):
    name = "joint_delta"
    arm_dim = 7
    scale_rad = 0.1

    def arm_delta(self, sim: Simulation, q: np.ndarray, arm_action: np.ndarray) -> np.ndarray:
        return arm_action * self.scale_rad


class JointAbsolute(Controller):
    name = "joint_abs"
    arm_dim = 7

    def arm_delta(self, sim: Simulation, q: np.ndarray, arm_action: np.ndarray) -> np.ndarray:
        low, high = self.robot.joint_low, self.robot.joint_high
        return low + (arm_action + 1.0) * 0.5 * (high - low) - q


CONTROL_MODES: dict[str, type[Controller]] = {c.name: c for c in (EndEffectorDelta, JointDelta, JointAbsolute)}


def make_controller(mode: str, robot: RobotView, num_sims: int, control_dt_s: float) -> Controller:
    if mode not in CONTROL_MODES:
        raise ValueError(f"unknown control_mode {mode!r}; valid: {', '.join(CONTROL_MODES)}")
    return CONTROL_MODES[mode](robot, num_sims, control_dt_s)
