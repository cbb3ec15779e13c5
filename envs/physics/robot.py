"""Names resolved to ids once for a robot in a compiled scene, and its proprioceptive observation."""

from __future__ import annotations

import mujoco
import numpy as np

from embodia.envs.physics.sim import Simulation
from embodia.envs.scene import panda

#: the jaw openings that hold an object of width w: from w - 12 mm (the soft pads pressed into the part, or the part
#: held across a narrower section) to w + 4 mm (pads just touching); (narrower, wider) in m
HOLD_BAND_M = (0.012, 0.004)
#: machined steel parts (nut, gear hub, peg) give less under the pads
RIGID_HOLD_BAND_M = (0.010, 0.003)
#: the jaws have let go of an object of width w once open beyond w + 8 mm: clear of the pads' 4 mm band on both sides
RELEASED_MARGIN_M = 0.008
#: a finger pad touches something when its touch sensor reads more than this (N): above the sensor's noise from a
#: light brush, below any hold (a grasp squeezes 5-70 N)
PAD_TOUCHING_N = 0.5

_NEXT = np.array([1, 2, 0])  # (a x b)_i = a_next(i) b_after(i) - a_after(i) b_next(i)
_AFTER = np.array([2, 0, 1])


class RobotView:
    """Index arrays into the batch's bound fields for one attached arm (prefix ``robot/``)."""

    def __init__(self, model: mujoco.MjModel, prefix: str = "robot/") -> None:
        def joint_ids(names):
            return np.array([model.joint(prefix + n).id for n in names])

        arm = joint_ids(panda.ARM_JOINTS)
        self.arm_joints = arm
        fingers = joint_ids(panda.FINGER_JOINTS)
        self.arm_qpos = model.jnt_qposadr[arm].copy()
        self.arm_dof = model.jnt_dofadr[arm].copy()
        self.finger_qpos = model.jnt_qposadr[fingers].copy()
        self.arm_actuators = np.array([model.actuator(prefix + n).id for n in panda.ARM_ACTUATORS])
        self.gripper_actuator = model.actuator(prefix + panda.GRIPPER_ACTUATOR).id
        self.tcp_site = model.site(prefix + panda.TCP_SITE).id
        self.hand_body = model.body(prefix + panda.HAND_BODY).id
        self.base_body = model.body(prefix + panda.BASE_BODY).id  # the frame point clouds are given in
        self.joint_low = model.jnt_range[arm, 0].copy()
        self.joint_high = model.jnt_range[arm, 1].copy()
        self.home_qpos = panda.HOME_QPOS.copy()
        self.velocity_limit = panda.JOINT_VELOCITY_LIMIT_RAD_S.copy()

        def sensor_slice(name):
            sensor = model.sensor(prefix + name)
            return slice(int(sensor.adr[0]), int(sensor.adr[0] + sensor.dim[0]))

        self.wrist_force = sensor_slice(panda.WRIST_FORCE_SENSOR)
        self.wrist_torque = sensor_slice(panda.WRIST_TORQUE_SENSOR)
        self.touch = [sensor_slice(n).start for n in panda.TOUCH_SENSORS]
        self.body_ids = np.array([b for b in range(model.nbody) if model.body(b).name.startswith(prefix)], dtype=int)

    # -------------------------------------------------------------------------- reading state
    def joint_pos(self, sim: Simulation) -> np.ndarray:
        return sim.qpos[:, self.arm_qpos]

    def joint_vel(self, sim: Simulation) -> np.ndarray:
        return sim.qvel[:, self.arm_dof]

    def tcp_pos(self, sim: Simulation) -> np.ndarray:
        return sim.site_xpos[:, self.tcp_site]

    def tcp_quat(self, sim: Simulation) -> np.ndarray:
        return sim.site_xquat[:, self.tcp_site]

    def tcp_xmat(self, sim: Simulation) -> np.ndarray:
        return sim.site_xmat[:, self.tcp_site].reshape(-1, 3, 3)

    def tcp_jacobian(self, sim: Simulation) -> np.ndarray:
        """(n, 6, 7) TCP Jacobian of the arm's hinges, from the joint axes and anchors the last step computed.

        For a hinge with world axis a through anchor p, the point x moves with a x (x - p) and turns with a;
        reading axes and anchors from the batch avoids a second kinematics pass per control step.
        """
        axes = sim.xaxis[:, self.arm_joints]
        lever = self.tcp_pos(sim)[:, None, :] - sim.xanchor[:, self.arm_joints]
        jacobian = np.empty((axes.shape[0], 6, axes.shape[1]))
        # axes x lever, elementwise (no einsum: its summation order depends on the batch size)
        cross = axes[:, :, _NEXT] * lever[:, :, _AFTER] - axes[:, :, _AFTER] * lever[:, :, _NEXT]
        jacobian[:, :3] = cross.transpose(0, 2, 1)
        jacobian[:, 3:] = axes.transpose(0, 2, 1)
        return jacobian

    def gripper_width(self, sim: Simulation) -> np.ndarray:
        return sim.qpos[:, self.finger_qpos].sum(axis=1)

    def holds(
        self,
        sim: Simulation,
        distance_m: np.ndarray,
        object_width_m: float | np.ndarray,
        reach_m: float,
        band_m: tuple[float, float] = HOLD_BAND_M,
    ) -> np.ndarray:
        """The grasp predicate: the jaws are around an object when its grasp point is within ``reach_m`` of the
        TCP (``distance_m``, (n,) or (n, objects)) and the opening is within ``band_m`` (narrower, wider) of its
        width. Whether the object moves with the hand is the task's to judge."""
        width = self.gripper_width(sim).reshape(-1, *([1] * (np.ndim(distance_m) - 1)))
        narrower, wider = band_m
        return (distance_m < reach_m) & (width < object_width_m + wider) & (width > object_width_m - narrower)

    def released(
        self, sim: Simulation, object_width_m: float | np.ndarray, margin_m: float = RELEASED_MARGIN_M
    ) -> np.ndarray:
        """(n,) whether the jaws are open wide enough (``margin_m`` beyond the object's width) to have let go."""
        return self.gripper_width(sim) > object_width_m + margin_m

    def release_progress(
        self, sim: Simulation, object_width_m: float | np.ndarray, margin_m: float = RELEASED_MARGIN_M
    ) -> np.ndarray:
        """(n,) how far the jaws have opened from the object's width towards ``released``: 0 at the width or
        narrower, 1 at ``margin_m`` beyond it. The dense form of ``released``: a release term that pays only once
        released tells a learner holding a placed part nothing about which way to move its gripper."""
        return np.clip((self.gripper_width(sim) - object_width_m) / margin_m, 0.0, 1.0)

    def pads_touching(self, sim: Simulation) -> np.ndarray:
        """(n, 2) whether each finger pad presses on something: with the width, what tells a policy (and an
        expert) that the jaws have closed on a part, from the state alone."""
        return sim.sensordata[:, self.touch] > PAD_TOUCHING_N

    def observe(self, sim: Simulation, force_torque: bool, touch: bool) -> dict[str, np.ndarray]:
        obs = {
            "robot_joint_pos": self.joint_pos(sim),
            "robot_joint_vel": self.joint_vel(sim),
            "robot_tcp_pos": self.tcp_pos(sim),
            "robot_tcp_quat": self.tcp_quat(sim),
            "robot_gripper_width": self.gripper_width(sim)[:, None],
            "robot_pads_touching": self.pads_touching(sim).astype(np.float64),
        }
        if force_torque:
            obs["robot_wrist_force"] = sim.sensordata[:, self.wrist_force]
            obs["robot_wrist_torque"] = sim.sensordata[:, self.wrist_torque]
        if touch:
            obs["robot_touch"] = sim.sensordata[:, self.touch]
        return obs

    @staticmethod
    def observation_shapes(force_torque: bool, touch: bool) -> dict[str, tuple[int, ...]]:
        shapes = {
            "robot_joint_pos": (7,),
            "robot_joint_vel": (7,),
            "robot_tcp_pos": (3,),
            "robot_tcp_quat": (4,),
            "robot_gripper_width": (1,),
            "robot_pads_touching": (2,),
        }
        if force_torque:
            shapes["robot_wrist_force"] = (3,)
            shapes["robot_wrist_torque"] = (3,)
        if touch:
            shapes["robot_touch"] = (2,)
        return shapes
