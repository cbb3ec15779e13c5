"""Compose a scene in code with ``mujoco.MjSpec``: arena, robot, fixtures, objects, cameras.

Children (robots) are attached under a ``name/`` prefix on their own frame from a *fresh* spec each time.
After composing, ``build`` writes one scene-level ``home`` keyframe, because attached children bring
only partial keyframes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mujoco
import numpy as np

from embodia.envs.validation import Bounds, check_fields, option

GEOM = mujoco.mjtGeom
#: the geom group of what collides but is not drawn (MuJoCo's default visual options draw groups 0-2 only)
HIDDEN_GROUP = 3


def look_at_xyaxes(pos: Sequence[float], target: Sequence[float], up=(0.0, 0.0, 1.0)) -> list[float]:
    """Camera ``xyaxes`` for a camera at ``pos`` looking at ``target`` (MuJoCo cameras look along -z)."""
    forward = np.asarray(target, float) - np.asarray(pos, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:  # looking straight down: pick x as image right
        right = np.array([0.0, -1.0, 0.0])
    right /= np.linalg.norm(right)
    image_up = np.cross(right, forward)
    return [*right, *image_up]


@dataclass(frozen=True)
class PhysicsOptions:
    """Solver settings shared by every task (chosen for stable grasps at a 2 ms step); checked on construction."""

    timestep_s: float = option(
        0.002, valid=(1e-5, 0.1), doc="physics step; the control period must be a whole number of them"
    )
    impratio: float = option(
        1.0, valid=Bounds(0.0, 1000.0, low_open=True), doc="frictional-to-normal impedance ratio (elliptic cones)"
    )
    iterations: int = option(30, valid=(1, 10_000), doc="most solver iterations per physics step")
    ls_iterations: int = option(8, valid=(1, 10_000), doc="most line-search iterations per solver iteration")

    def __post_init__(self) -> None:
        check_fields(self)


class SceneBuilder:
    """Owns one ``MjSpec`` and offers small verbs to compose a scene."""

    def __init__(self, name: str, physics: PhysicsOptions | None = None, sky: bool = True) -> None:
        """``sky``: the skybox texture (1.2 MB of the compiled model); off for a model that is never drawn."""
        physics = physics or PhysicsOptions()
        spec = mujoco.MjSpec()
        spec.modelname = name
        spec.compiler.degree = False
        spec.option.timestep = physics.timestep_s
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
        spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
        spec.option.impratio = physics.impratio
        spec.option.iterations = physics.iterations
        spec.option.ls_iterations = physics.ls_iterations
        spec.visual.global_.offwidth = 1280
        spec.visual.global_.offheight = 960
        spec.visual.quality.shadowsize = 2048
        spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
        spec.visual.headlight.diffuse = [0.45, 0.45, 0.45]
        spec.visual.headlight.specular = [0.1, 0.1, 0.1]
        spec.visual.map.znear = 0.01
        # The work cell's size, not the floor's: it sizes the shadow map, so shadows stay crisp.
        spec.stat.center = [0.5, 0.0, 0.7]
        spec.stat.extent = 1.6
        self.spec = spec
        self._home_joint_values: dict[str, float] = {}
        self._home_ctrl_values: dict[str, float] = {}
        if sky:
            self._add_sky()

    # ----------------------------------------------------------------------------------- assets
    def _add_sky(self) -> None:
        spec = self.spec
        spec.add_texture(
            name="skybox",
            type=mujoco.mjtTexture.mjTEXTURE_SKYBOX,
            builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT,
            rgb1=[0.78, 0.84, 0.9],
            rgb2=[0.25, 0.3, 0.38],
            width=256,
            height=256,
        )

    def add_checker_material(
        self, name: str, rgb1: Sequence[float], rgb2: Sequence[float], repeat=(8, 8), reflectance=0.0
    ) -> str:
        self.spec.add_texture(
            name=name,
            type=mujoco.mjtTexture.mjTEXTURE_2D,
            builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
            rgb1=list(rgb1),
            rgb2=list(rgb2),
            width=256,
            height=256,
        )
        material = self.spec.add_material(name=name, texrepeat=list(repeat), reflectance=reflectance)
        material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = name
        return name

    def add_material(self, name: str, rgba: Sequence[float], specular=0.3, shininess=0.3, reflectance=0.0) -> str:
        self.spec.add_material(
            name=name, rgba=list(rgba), specular=specular, shininess=shininess, reflectance=reflectance
        )
        return name

    # ----------------------------------------------------------------------------------- pieces
    @property
    def world(self) -> mujoco.MjsBody:
        return self.spec.worldbody

    def add_light(self, pos: Sequence[float], target: Sequence[float], cast_shadow: bool = True) -> None:
        direction = np.asarray(target, float) - np.asarray(pos, float)
        self.world.add_light(
            pos=list(pos),
            dir=list(direction / np.linalg.norm(direction)),
            diffuse=[0.55, 0.55, 0.55],
            specular=[0.25, 0.25, 0.25],
            castshadow=cast_shadow,
        )

    def add_camera(self, name: str, pos: Sequence[float], target: Sequence[float], fovy_deg: float = 50.0) -> None:
        self.world.add_camera(name=name, pos=list(pos), xyaxes=look_at_xyaxes(pos, target), fovy=fovy_deg)

    def add_robot(
        self,
        child: mujoco.MjSpec,
        prefix: str,
        pos: Sequence[float],
        yaw_rad: float = 0.0,
        home_qpos: dict[str, float] | None = None,
        home_ctrl: dict[str, float] | None = None,
    ) -> None:
        """Attach a fresh robot spec at ``pos`` (rotated by ``yaw_rad`` about z) under ``prefix/``."""
        frame = self.world.add_frame(pos=list(pos), quat=[np.cos(yaw_rad / 2), 0, 0, np.sin(yaw_rad / 2)])
        for key in list(child.keys):
            child.delete(key)
        self.spec.attach(child, prefix=f"{prefix}/", frame=frame)
        for joint, value in (home_qpos or {}).items():
            self._home_joint_values[f"{prefix}/{joint}"] = value
        for actuator, value in (home_ctrl or {}).items():
            self._home_ctrl_values[f"{prefix}/{actuator}"] = value

    def add_free_body(self, name: str, pos, quat=(1.0, 0.0, 0.0, 0.0)) -> mujoco.MjsBody:
        """A body with a free joint named ``name``; geoms are added by the caller."""
        body = self.world.add_body(name=name, pos=list(pos), quat=list(quat))
        body.add_freejoint(name=name)
        return body

    def build(self) -> mujoco.MjModel:
        """Compile, then add the scene-level ``home`` keyframe from the robots' home poses."""
        model = self.spec.compile()
        qpos = model.qpos0.copy()
        for joint, value in self._home_joint_values.items():
            qpos[model.jnt_qposadr[model.joint(joint).id]] = value
        ctrl = np.zeros(model.nu)
        for actuator, value in self._home_ctrl_values.items():
            ctrl[model.actuator(actuator).id] = value
        self.spec.add_key(name="home", qpos=qpos.tolist(), ctrl=ctrl.tolist())
        return self.spec.compile()
