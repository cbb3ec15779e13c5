"""Per-pixel classes for segmentation observations: what a policy or a dataset needs to tell apart in an image.

Classes (``SEGMENTATION_CLASSES``, the id is the index): background; the robot; the task's target object (the
one to grasp next, ``Task.grasp_target_bodies``, per simulation); other objects (anything on a free joint, and
tools or cloth the robot carries or moves); furniture (fixtures, furniture, the room); and the person by ISO/TS
15066 body region, the same regions the safety monitor measures forces on (``envs/safety/iso15066.py``).

A geom's class is fixed when the model is built, except the target's, which changes with each simulation's
episode (BinPicking draws which part) and phase (DrawerFetch: the drawer, then the case).
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from embodia.envs.safety.iso15066 import REGION_NAMES

BASE_CLASSES = ("background", "robot", "target_object", "other_object", "furniture")
SEGMENTATION_CLASSES: tuple[str, ...] = (*BASE_CLASSES, *(f"person_{region}" for region in REGION_NAMES))
CLASS_ID = {name: i for i, name in enumerate(SEGMENTATION_CLASSES)}
ROBOT_PREFIX = "robot/"


def _free_rooted(model: mujoco.MjModel, body: int) -> bool:
    """Whether the body hangs from a free joint (itself or an ancestor): a loose object."""
    while body > 0:
        for joint in range(model.body_jntadr[body], model.body_jntadr[body] + model.body_jntnum[body]):
            if model.jnt_type[joint] == mujoco.mjtJoint.mjJNT_FREE:
                return True
        body = int(model.body_parentid[body])
    return False


def _person_geom_regions(model: mujoco.MjModel, person_regions: dict[str, str]) -> dict[int, str]:
    """Geom id -> region for every geom on a person's body: the mapped ones, and each other one (hair, the mouth's
    cavity) in the region of the mapped geom on its body nearest to it (hair: the skull)."""
    mapped = {model.geom(name).id: region for name, region in person_regions.items()}
    by_body: dict[int, list[int]] = {}
    for geom in mapped:
        by_body.setdefault(int(model.geom_bodyid[geom]), []).append(geom)
    regions = dict(mapped)
    for geom in range(model.ngeom):
        candidates = by_body.get(int(model.geom_bodyid[geom]))
        if geom not in regions and candidates:
            nearest = min(candidates, key=lambda g: float(np.linalg.norm(model.geom_pos[g] - model.geom_pos[geom])))
            regions[geom] = mapped[nearest]
    return regions


def geom_classes(model: mujoco.MjModel, person_regions: dict[str, str] | None = None) -> np.ndarray:
    """(ngeom,) uint8 class of every geom, the target aside. ``person_regions``: person geom name -> ISO region."""
    regions = _person_geom_regions(model, person_regions or {})
    classes = np.full(model.ngeom, CLASS_ID["furniture"], dtype=np.uint8)
    for geom in range(model.ngeom):
        body = int(model.geom_bodyid[geom])
        root_name = model.body(int(model.body_rootid[body])).name
        if geom in regions:
            classes[geom] = CLASS_ID[f"person_{regions[geom]}"]
        elif model.body(body).name.startswith(ROBOT_PREFIX):
            classes[geom] = CLASS_ID["robot"]
        elif root_name.startswith(ROBOT_PREFIX) or _free_rooted(model, body):
            classes[geom] = CLASS_ID["other_object"]  # a tool on the hand, or a loose object
    return classes


class SegmentationClasses:
    """Turns a renderer's (object id, object type) image into class ids for one model."""

    def __init__(self, model: mujoco.MjModel, person_regions: dict[str, str] | None = None) -> None:
        self.model = model
        self.geom_class = geom_classes(model, person_regions)

    def image(self, ids: np.ndarray, target_body: int = -1) -> np.ndarray:
        """(H, W) uint8 classes from a segmentation render ``ids`` (H, W, 2); ``target_body``: this simulation's
        target (-1: none)."""
        obj, kind = ids[..., 0], ids[..., 1]
        classes = np.zeros(obj.shape, dtype=np.uint8)
        geom = (kind == mujoco.mjtObj.mjOBJ_GEOM) & (obj >= 0)
        geom_ids = obj[geom]
        values = self.geom_class[geom_ids]
        if target_body >= 0:
            values = np.where(self.model.geom_bodyid[geom_ids] == target_body, CLASS_ID["target_object"], values)
        classes[geom] = values
        classes[(kind == mujoco.mjtObj.mjOBJ_FLEX) & (obj >= 0)] = CLASS_ID["other_object"]  # cloth
        return classes


def person_regions_of(task: Any) -> dict[str, str]:
    """The task's person's geom -> ISO region map (care tasks keep their ``Person`` as ``task.person``)."""
    person = getattr(task, "person", None)
    body = getattr(person, "body", None)
    return dict(getattr(body, "region_of_geom", {}) or {})
