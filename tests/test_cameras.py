"""Cameras show the work: the wrist camera looks between the fingers at what they are about to grasp.

Each task's expert runs until its pads first touch something while it has a grasp target; the state one control
step before (the jaws around the object, not yet closed on it) is rendered from the wrist camera with
segmentation, and both fingers and the target object must be in view.
"""

from __future__ import annotations

import numpy as np
import pytest

from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import BatchedEnv
from embodia.envs.core.rendering import SimRenderer
from embodia.envs.tasks.registry import task_spec

#: every task whose expert grasps an object (the others hold their tool from the start or grasp nothing)
GRASPING_TASKS = ("BinPicking", "PegInsertion", "NutBolt", "GearAssembly", "ConveyorSort", "Palletizing",
                  "Handover", "FetchDropped", "DrawerFetch", "BlanketCover")  # fmt: skip
NOT_GRASPING_TASKS = ("Reach", "Feeding", "Drinking", "BedBathing")
#: 1% of the frame, 192 pixels at 160 x 120 (each finger and object fills 5-70% of it on seed 0)
MIN_SHARE = 0.01
FINGERS = ("robot/left_finger", "robot/right_finger")


def frame_before_grasp(task: str, seed: int = 0, max_steps: int = 600):
    """(segmentation of the wrist camera one step before the pads first touch, target body id, env)."""
    env_id = f"embodia/{task}-v0"
    env = BatchedEnv(task_spec(env_id).task, 1)
    expert = make_expert(env_id, 1)
    obs, info = env.reset(seeds=[seed])
    expert.reset(np.array([0]), seed)
    renderer = SimRenderer(env.model, 120, 160, preset="fast")
    renderer.load(env.sim, 0)
    target = int(env.task.grasp_target_bodies(env.sim)[0])
    try:
        for _ in range(max_steps):
            obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
            if info["state"]["pads_touching"][0].any() and target >= 0:
                return renderer.segment("robot/wrist"), target, env  # the renderer still holds the step before
            assert not (terminated[0] or truncated[0]), f"{task}: the episode ended before the expert grasped"
            renderer.load(env.sim, 0)
            target = int(env.task.grasp_target_bodies(env.sim)[0])
    finally:
        renderer.close()
    raise AssertionError(f"{task}: the expert's pads touched nothing in {max_steps} steps")


@pytest.mark.parametrize("task", GRASPING_TASKS)
def test_the_wrist_camera_sees_both_fingers_and_the_object_they_are_about_to_grasp(task):
    bodies, target, env = frame_before_grasp(task)
    model = env.model
    shares = {name: float((bodies == model.body(name).id).mean()) for name in FINGERS}
    shares[model.body(target).name] = float((bodies == target).mean())
    assert min(shares.values()) >= MIN_SHARE, f"{task}: share of the wrist frame per body {shares}"
    assert (bodies == -1).mean() < 0.9, f"{task}: the wrist camera sees mostly background"


@pytest.mark.parametrize("task", NOT_GRASPING_TASKS)
def test_tasks_without_a_grasp_name_no_target(task):
    env = BatchedEnv(task_spec(f"embodia/{task}-v0").task, 2)
    env.reset(seeds=[0, 1])
    assert (env.task.grasp_target_bodies(env.sim) == -1).all()


def test_segmentation_names_the_body_under_each_pixel_and_background_is_minus_one():
    env = BatchedEnv(task_spec("embodia/BinPicking-v0").task, 1)
    env.reset(seeds=[0])
    renderer = SimRenderer(env.model, 96, 128, preset="fast")
    try:
        renderer.load(env.sim, 0)
        bodies = renderer.segment("front")
        rgb = renderer.render("front")
    finally:
        renderer.close()
    assert bodies.shape == (96, 128) and bodies.dtype == np.int32
    assert bodies.min() >= -1 and bodies.max() < env.model.nbody
    names = {env.model.body(int(b)).name for b in np.unique(bodies) if b >= 0}
    assert "robot/hand" in names and "bin" in names
    assert rgb.std() > 10  # a real picture where the segments are
