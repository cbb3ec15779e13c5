"""Where a person comes to rest in their furniture, found by letting them settle there once.

The body is placed by its geometry (thighs on the seat, back along the mattress), but capsules and ellipsoids
sink into soft contacts and tip until the backrest takes the trunk. An episode that started from that first
guess would spend its first steps dropping a centimetre or two. So the person is built alone in their
furniture, the muscles hold the posture as they do in an episode (``HumanMotion``), and the root's pose once
the body is still is where every episode of that body starts. Computed once per body (sex, stature, posture):
``shape.body_shape`` keeps it with the compiled body.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from embodia.envs.human.body import JOINT_NAMES, JOINTS
from embodia.envs.human.config import HumanConfig
from embodia.envs.physics.sim import Simulation
from embodia.envs.scene import parts
from embodia.envs.scene.builder import SceneBuilder

SETTLE_S = 2.0  # the slowest mode, the trunk rolling onto its arms in bed, has died out by then
AT_REST_M_S = 1e-4


@dataclass(frozen=True)
class RestingPose:
    """The root's pose in the furniture's frame, and how still it was when taken."""

    pos: np.ndarray  # (3,) the hip midpoint
    quat: np.ndarray  # (4,) wxyz
    speed_m_s: float

    def place(self, sim: Simulation, ids: np.ndarray, qpos_adr: int, dof_adr: int, base_pos, yaw) -> None:
        """Put the root's free joint (at ``qpos_adr``/``dof_adr``) at rest in furniture at ``base_pos`` (len(ids),
        3) turned by ``yaw`` (len(ids),)."""
        base_pos = np.broadcast_to(np.asarray(base_pos, dtype=float), (len(ids), 3))
        yaw = np.broadcast_to(np.asarray(yaw, dtype=float), (len(ids),))
        cos, sin = np.cos(yaw), np.sin(yaw)
        x, y, z = self.pos
        sim.qpos[ids, qpos_adr : qpos_adr + 3] = base_pos + np.column_stack(
            [cos * x - sin * y, sin * x + cos * y, np.full(len(ids), z)]
        )
        turn = parts.yaw_quat(yaw)
        for k, sim_id in enumerate(ids):
            mujoco.mju_mulQuat(sim.qpos[sim_id, qpos_adr + 3 : qpos_adr + 7], turn[k], self.quat)
        sim.qvel[ids, dof_adr : dof_adr + 6] = 0.0


def resting_pose(config: HumanConfig) -> RestingPose:
    """Settle ``config``'s body (its built mass, posture targets and full strength) in its furniture."""
    from embodia.envs.human.person import add_person  # person builds on this module's result
    from embodia.envs.scene.props import add_room

    builder = SceneBuilder("resting_person")
    add_room(builder)
    body = add_person(builder, config, "person", (0.0, 0.0, 0.0), 0.0)
    model = builder.build()
    data = mujoco.MjData(model)
    actuators = np.array([model.actuator(body.actuators[j]).id for j in JOINT_NAMES])
    dofs = model.jnt_dofadr[[model.joint(body.joints[j]).id for j in JOINT_NAMES]]
    stiffness = np.array([JOINTS[j][1] for j in JOINT_NAMES]) * config.strength_scale
    targets = body.posture_target_array()
    root = model.joint(body.root_joint)
    qpos, dof = int(root.qposadr[0]), int(root.dofadr[0])
    data.qpos[model.jnt_qposadr[[model.joint(body.joints[j]).id for j in JOINT_NAMES]]] = targets
    mujoco.mj_forward(model, data)
    for _ in range(round(SETTLE_S / model.opt.timestep)):
        held = data.qfrc_bias[dofs] / stiffness if body.holds_against_gravity else 0.0
        data.ctrl[actuators] = targets + held
        mujoco.mj_step(model, data)
    speed = float(np.linalg.norm(data.qvel[dof : dof + 3]))
    return RestingPose(data.qpos[qpos : qpos + 3].copy(), data.qpos[qpos + 3 : qpos + 7].copy(), speed)
