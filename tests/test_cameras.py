"""Cameras show the work.

Each grasping task's expert runs until its pads first touch something while it has a grasp target; the state one
control step before (the jaws around the object, not yet closed on it) is rendered with segmentation:

- ``robot/wrist`` looks between the fingers at what they grasp: both fingers and the object are in view;
- every task's ``work`` camera frames the hand and what it works on (the object to grasp; the person's head for
  Feeding and Drinking, the arm being washed for BedBathing, Reach's target), at that moment or, for the tasks
  without a grasp, at a moment of the work.
"""

from __future__ import annotations

import mujoco
import numpy as np
import pytest

from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import BatchedEnv
from embodia.envs.core.rendering import SimRenderer
from embodia.envs.tasks.registry import TASKS, task_spec

#: every task whose expert grasps an object (the others hold their tool from the start or grasp nothing)
GRASPING_TASKS = ("BinPicking", "PegInsertion", "NutBolt", "GearAssembly", "ConveyorSort", "Palletizing",
                  "Handover", "FetchDropped", "DrawerFetch", "BlanketCover")  # fmt: skip
#: the tasks without a grasp: the body their work is on (a task attribute), and the step to look at
WORK_WITHOUT_GRASP = {
    "Reach": (lambda task, model: model.body("target").id, 10),
    "Feeding": (lambda task, model: task.neck_body, 60),  # the head is the neck body
    "Drinking": (lambda task, model: task.neck_body, 60),
    "BedBathing": (lambda task, model: task.segment_bodies[0], 60),  # the forearm, washed first
}
#: 1% of the frame, 192 pixels at 160 x 120 (on seed 0 each finger and object fills 5-70% of the wrist view)
MIN_SHARE = 0.01
FINGERS = ("robot/left_finger", "robot/right_finger")
HAND = ("robot/hand", *FINGERS)


def test_every_task_is_in_one_of_the_lists():
    assert sorted(GRASPING_TASKS + tuple(WORK_WITHOUT_GRASP)) == sorted(e.split("/")[1][:-3] for e in TASKS)


def working_moment(task: str, seed: int = 0, max_steps: int = 600):
    """(renderer holding the moment's state, env, target body): one step before the expert's pads first touch
    while it has a grasp target, or the step ``WORK_WITHOUT_GRASP`` names."""
    env_id = f"embodia/{task}-v0"
    env = BatchedEnv(task_spec(env_id).task, 1)
    expert = make_expert(env_id, 1)
    obs, info = env.reset(seeds=[seed])
    expert.reset(np.array([0]), seed)
    renderer = SimRenderer(env.model, 120, 160, preset="fast")
    renderer.load(env.sim, 0)
    target = int(env.task.grasp_target_bodies(env.sim)[0])
    look_at_step = WORK_WITHOUT_GRASP[task][1] if task in WORK_WITHOUT_GRASP else None
    for step in range(1, max_steps + 1):
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        if look_at_step is None and info["state"]["pads_touching"][0].any() and target >= 0:
            return renderer, env, target  # the renderer still holds the step before
        assert not (terminated[0] or truncated[0]), f"{task}: the episode ended before the moment to look at"
        renderer.load(env.sim, 0)
        target = int(env.task.grasp_target_bodies(env.sim)[0])
        if step == look_at_step:
            return renderer, env, int(WORK_WITHOUT_GRASP[task][0](env.task, env.model))
    renderer.close()
    raise AssertionError(f"{task}: the expert's pads touched nothing in {max_steps} steps")


def shares(bodies: np.ndarray, model, names: tuple[str, ...], target: int) -> dict[str, float]:
    found = {name: float((bodies == model.body(name).id).mean()) for name in names}
    found[model.body(target).name] = float((bodies == target).mean())
    return found


@pytest.mark.parametrize("task", GRASPING_TASKS)
def test_the_wrist_camera_sees_both_fingers_and_the_object_they_are_about_to_grasp(task):
    renderer, env, target = working_moment(task)
    try:
        bodies = renderer.segment("robot/wrist")
    finally:
        renderer.close()
    seen = shares(bodies, env.model, FINGERS, target)
    assert min(seen.values()) >= MIN_SHARE, f"{task}: share of the wrist frame per body {seen}"
    assert (bodies == -1).mean() < 0.9, f"{task}: the wrist camera sees mostly background"


@pytest.mark.parametrize("task", GRASPING_TASKS + tuple(WORK_WITHOUT_GRASP))
def test_the_work_camera_frames_the_hand_and_what_it_works_on(task):
    renderer, env, target = working_moment(task)
    try:
        bodies = renderer.segment("work")
        rgb = renderer.render("work")
    finally:
        renderer.close()
    hand = float(np.isin(bodies, [env.model.body(name).id for name in HAND]).mean())
    on_target = float((bodies == target).mean())
    # in view, not a close-up: the object sits below the open jaws, partly hidden by them (seed 0: 0.1-1.2%)
    assert hand >= MIN_SHARE / 5, f"{task}: the hand fills {hand:.2%} of the work camera's frame"
    assert on_target >= MIN_SHARE / 20, f"{task}: {env.model.body(target).name} fills {on_target:.2%} of it"
    assert rgb.std() > 10


@pytest.mark.parametrize("task", tuple(WORK_WITHOUT_GRASP))
def test_tasks_without_a_grasp_name_no_grasp_target(task):
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


def test_the_fast_preset_draws_the_floor_where_the_quality_preset_does():
    """The fast preset draws planes as thin boxes (software GL draws a plane as a fine grid): the floor's surface
    must stay where it is, in a care task too, whose per-simulation model values each load copies in."""
    env = BatchedEnv(task_spec("embodia/Handover-v0").task, 2)
    env.reset(seeds=[0, 1])
    floor = env.model.geom("floor").id
    depths = {}
    for preset in ("fast", "quality"):
        renderer = SimRenderer(env.model, 96, 128, preset=preset)
        try:
            for sim_id in (0, 1):
                renderer.load(env.sim, sim_id)
                ids = renderer.object_ids("front")
                on_floor = (ids[..., 0] == floor) & (ids[..., 1] == 5)  # mjOBJ_GEOM
                depths[preset, sim_id] = (renderer.render("front", depth=True), on_floor)
        finally:
            renderer.close()
    for sim_id in (0, 1):
        (fast, fast_floor), (quality, quality_floor) = depths["fast", sim_id], depths["quality", sim_id]
        both = fast_floor & quality_floor
        assert both.mean() > 0.1  # the floor is in view, and drawn in both
        # the box's top face is the plane: to 1e-6 of the distance (1 mm above it: 7e-4)
        assert (np.abs(fast[both] - quality[both]) / quality[both]).max() < 1e-4


class FullForwardRenderer(SimRenderer):
    """The renderer as it was: a full ``mj_forward`` for every state it loads."""

    def _pose(self) -> None:
        mujoco.mj_forward(self.model, self.data)


@pytest.mark.parametrize("env_id", list(TASKS))
def test_a_loaded_state_draws_what_the_full_forward_pass_would(env_id):
    """Loading a simulation for drawing runs only the forward pass's kinematic stage: colour, depth and
    segmentation must equal, to the bit, what the same state gives after a full ``mj_forward``, mid-episode (the
    arm moving, objects in contact, a person's per-episode shape, BlanketCover's cloth), from a fixed camera and
    from the wrist's. Simulation 1 is given simulation 0's state without a forward pass, so that what it had
    derived from its own state is stale and the loader must pose everything again."""
    env = BatchedEnv(task_spec(env_id).task, 2)
    env.reset(seeds=[3, 4])
    rng = np.random.default_rng(0)
    for _ in range(15):
        env.step(rng.uniform(-1, 1, (2, *env.single_action_space.shape)).astype(np.float32))
    env.sim.set_state(1, env.sim.state(0))
    images = {}
    for renderer_class in (SimRenderer, FullForwardRenderer):
        renderer = renderer_class(env.model, 48, 64, preset="fast")
        try:
            for sim_id in (0, 1):
                renderer.load(env.sim, sim_id)
                images[renderer_class, sim_id] = [
                    image
                    for camera in ("front", "robot/wrist")
                    for image in (
                        renderer.render(camera),
                        renderer.render(camera, depth=True),
                        renderer.segment(camera),
                    )
                ]
        finally:
            renderer.close()
    env.close()
    for sim_id in (0, 1):
        kinematic, full = images[SimRenderer, sim_id], images[FullForwardRenderer, sim_id]
        assert kinematic[0].std() > 5  # a real picture
        for got, expected in zip(kinematic, full, strict=True):
            np.testing.assert_array_equal(got, expected)
