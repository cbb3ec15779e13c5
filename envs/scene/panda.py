"""The Panda-class arm: names, home pose and limits, and a loader that returns a fresh spec.

Limits are Franka's published joint limits (Franka docs, control-parameters-joint-panda.csv);
see assets/robots/panda.xml for the kinematics and inertias.
"""

from __future__ import annotations

from importlib import resources

import mujoco
import numpy as np

from embodia.envs.scene.contact_groups import ROBOT_BIT

ARM_JOINTS = tuple(f"joint{i}" for i in range(1, 8))
FINGER_JOINTS = ("finger_left", "finger_right")
ARM_ACTUATORS = ARM_JOINTS
GRIPPER_ACTUATOR = "gripper"
TCP_SITE = "tcp"
HAND_BODY = "hand"
BASE_BODY = "link0"
WRIST_FORCE_SENSOR = "wrist_force"
WRIST_TORQUE_SENSOR = "wrist_torque"
TOUCH_SENSORS = ("left_touch", "right_touch")
CAMERAS = ("wrist",)

HOME_QPOS = np.array([0.0, 0.0, 0.0, -1.5708, 0.0, 1.5708, -0.7854])
JOINT_VELOCITY_LIMIT_RAD_S = np.array([2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61])
GRIPPER_MAX_WIDTH_M = 0.08
GRIPPER_SPEED_M_S = 0.1  # jaw width speed: 0.05 m/s per finger (Franka Hand spec)
GRIPPER_FORCE_N = 70.0


def asset_path() -> str:
    return str(resources.files("embodia.assets") / "robots" / "panda.xml")


def load() -> mujoco.MjSpec:
    """A fresh spec of the arm (attaching the same spec twice raises, so never cache it)."""
    return mujoco.MjSpec.from_file(asset_path())


def mount(builder, pos, prefix: str = "robot") -> None:
    """Attach a fresh arm at ``pos`` under ``prefix/``, with its home pose in the scene's keyframe."""
    spec = load()
    for geom in spec.geoms:
        geom.contype |= ROBOT_BIT
    builder.add_robot(spec, prefix, pos, home_qpos=home_qpos_by_joint(), home_ctrl=home_ctrl_by_actuator())


PEDESTAL_PLATE_HALF_THICKNESS_M = 0.015


def mount_on_pedestal(
    builder, pos, half_width_m: float = 0.13, material: str = "dark_steel", toe_space_m: float = 0.0
) -> None:
    """A steel pedestal from the floor up to ``pos``, with the arm on top (care and lab cells).

    ``toe_space_m`` > 0 sets the column back (-x) by that much under a top plate that still carries the arm, so a
    person seated facing the arm has room for their feet under it, as under a table.
    """
    height = float(pos[2])
    builder.world.add_geom(
        name="pedestal",
        type=mujoco.mjtGeom.mjGEOM_BOX,
        pos=[pos[0] - toe_space_m, pos[1], height / 2],
        size=[half_width_m, half_width_m, height / 2],
        material=material,
    )
    if toe_space_m > 0:
        half_length = half_width_m + toe_space_m / 2
        builder.world.add_geom(
            name="pedestal_plate",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            pos=[pos[0] - toe_space_m / 2, pos[1], height - PEDESTAL_PLATE_HALF_THICKNESS_M],
            size=[half_length, half_width_m, PEDESTAL_PLATE_HALF_THICKNESS_M],
            material=material,
        )
    mount(builder, pos)


def finger_qpos_addresses(model: mujoco.MjModel, prefix: str = "robot") -> np.ndarray:
    """qpos indices of the two finger joints: their sum is the jaw opening in m."""
    return np.array([model.jnt_qposadr[model.joint(f"{prefix}/{joint}").id] for joint in FINGER_JOINTS])


def home_qpos_by_joint() -> dict[str, float]:
    values = dict(zip(ARM_JOINTS, HOME_QPOS.tolist(), strict=True))
    values.update({joint: GRIPPER_MAX_WIDTH_M / 2 for joint in FINGER_JOINTS})
    return values


def home_ctrl_by_actuator() -> dict[str, float]:
    values = dict(zip(ARM_ACTUATORS, HOME_QPOS.tolist(), strict=True))
    values[GRIPPER_ACTUATOR] = GRIPPER_MAX_WIDTH_M
    return values
