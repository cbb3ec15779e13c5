"""Visual domain randomization: per episode, the lights, the colours of furniture and objects, and the cameras'
poses, within stated ranges, so that a policy that sees learns what matters rather than one look of the scene.

Off by default (``visual_randomization=True`` turns it on). Only what is drawn changes: no geometry, mass,
friction or contact, so the physics of an episode is bit for bit the same with it on or off. The draws come from a
child of the episode's random stream (the task's own draws are untouched) and live in per-simulation model fields
(``mat_rgba``, ``light_*``, ``cam_*``), which the recorder stores with every episode and replay puts back: a replay
re-renders the images the policy saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from embodia.envs.core.segmentation import CLASS_ID


@dataclass(frozen=True)
class VisualRanges:
    """The ranges each episode draws from (uniform)."""

    light_diffuse_scale: tuple[float, float] = (0.5, 1.5)  # each light's diffuse colour, scaled
    light_shift_m: float = 0.5  # each light moves by up to this along every axis
    #: furniture and object materials: brighter or darker as a whole, and each channel tinted a little, so that a
    #: red part stays red (instructions name colours; ConveyorSort's bins are coloured by kind)
    colour_brightness: tuple[float, float] = (0.6, 1.3)
    colour_tint: tuple[float, float] = (0.9, 1.1)
    camera_shift_m: float = 0.02  # every camera moves by up to this along each axis
    camera_turn_deg: float = 2.0  # and turns by up to this about each of its axes


RANGES = VisualRanges()
#: the materials that change colour: those only furniture, the room and objects wear (not the robot or the person)
RECOLOURED_CLASSES = (CLASS_ID["furniture"], CLASS_ID["other_object"])


def recoloured_materials(model: mujoco.MjModel, geom_class: np.ndarray) -> np.ndarray:
    """Ids of the materials worn only by geoms of ``RECOLOURED_CLASSES`` (``geom_class`` from segmentation)."""
    worn = {}
    for geom in range(model.ngeom):
        material = int(model.geom_matid[geom])
        if material >= 0:
            worn.setdefault(material, set()).add(int(geom_class[geom]))
    return np.array(sorted(m for m, classes in worn.items() if classes <= set(RECOLOURED_CLASSES)), dtype=np.int64)


def _small_turns(rng: np.random.Generator, count: int, max_deg: float) -> np.ndarray:
    """(count, 4) unit quaternions of rotations by at most ``max_deg`` about each axis."""
    half = np.deg2rad(rng.uniform(-max_deg, max_deg, size=(count, 3))) / 2
    turns = np.concatenate([np.ones((count, 1)), half], axis=1)  # small-angle quaternion, then normalised
    return turns / np.linalg.norm(turns, axis=1, keepdims=True)


def _compose(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Quaternion products first * second, row by row (wxyz)."""
    out = np.empty_like(first)
    for row in range(len(first)):
        mujoco.mju_mulQuat(out[row], first[row], second[row])
    return out


class VisualRandomizer:
    """Draws and applies the visual ranges for the simulations being reset."""

    def __init__(self, model: mujoco.MjModel, geom_class: np.ndarray, ranges: VisualRanges = RANGES) -> None:
        self.model = model
        self.ranges = ranges
        self.materials = recoloured_materials(model, geom_class)

    def apply(self, sim, ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        model, ranges = self.model, self.ranges
        fields = {name: sim.per_sim_model_field(name) for name in ("mat_rgba", "light_diffuse", "light_pos",
                                                                     "cam_pos", "cam_quat")}  # fmt: skip
        for sim_id, parent in zip(ids, rngs, strict=True):
            rng = parent.spawn(1)[0]
            if len(self.materials):
                brightness = rng.uniform(*ranges.colour_brightness, size=(len(self.materials), 1))
                scale = brightness * rng.uniform(*ranges.colour_tint, size=(len(self.materials), 3))
                rgba = model.mat_rgba[self.materials].copy()
                rgba[:, :3] = np.clip(rgba[:, :3] * scale, 0.0, 1.0)
                fields["mat_rgba"][sim_id, self.materials] = rgba
            if model.nlight:
                fields["light_diffuse"][sim_id] = np.clip(
                    model.light_diffuse * rng.uniform(*ranges.light_diffuse_scale, size=(model.nlight, 1)), 0.0, 1.0
                )
                fields["light_pos"][sim_id] = model.light_pos + rng.uniform(
                    -ranges.light_shift_m, ranges.light_shift_m, size=(model.nlight, 3)
                )
            if model.ncam:
                fields["cam_pos"][sim_id] = model.cam_pos + rng.uniform(
                    -ranges.camera_shift_m, ranges.camera_shift_m, size=(model.ncam, 3)
                )
                turns = _small_turns(rng, model.ncam, ranges.camera_turn_deg)
                fields["cam_quat"][sim_id] = _compose(model.cam_quat, turns)
