"""Segmentation images and point clouds: classes on the right pixels, points where the bodies are, bad options."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import embodia  # noqa: F401  (registers the tasks)
from embodia.envs.core.point_cloud import WORKSPACE_RADIUS_M
from embodia.envs.core.rendering import SimRenderer
from embodia.envs.core.segmentation import CLASS_ID, SEGMENTATION_CLASSES

SIZE = (96, 128)


def test_segmentation_marks_the_robot_the_target_furniture_and_the_persons_regions():
    env = gym.make("embodia/Handover-v0", obs_mode="pixels", cameras=("work",), segmentation=True, image_size=SIZE)
    obs, _ = env.reset(seed=0)
    classes = obs["segmentation_work"][..., 0]
    assert env.observation_space["segmentation_work"].contains(obs["segmentation_work"])
    seen = {SEGMENTATION_CLASSES[c] for c in np.unique(classes)}
    assert {"robot", "target_object", "furniture", "person_face", "person_hand", "person_chest"} <= seen
    # the target's pixels are the bottle's, as the body-level render says
    core = env.unwrapped.core
    renderer = SimRenderer(core.model, *SIZE, preset="fast")
    renderer.load(core.sim, 0)
    bodies = renderer.segment("work")
    renderer.close()
    assert np.array_equal(classes == CLASS_ID["target_object"], bodies == core.model.body("bottle").id)
    assert ((classes == CLASS_ID["robot"]) == np.isin(bodies, core.robot.body_ids)).all()


def test_the_target_class_follows_the_part_each_episode_draws():
    env = gym.make("embodia/BinPicking-v0", obs_mode="pixels", cameras=("work",), segmentation=True,
                   image_size=(192, 256))  # fmt: skip
    core = env.unwrapped.core
    renderer = SimRenderer(core.model, 192, 256, preset="fast")
    targets = set()
    for seed in range(6):
        obs, _ = env.reset(seed=seed)
        target = int(core.task.grasp_target_bodies(core.sim)[0])
        targets.add(target)
        renderer.load(core.sim, 0)
        bodies = renderer.segment("work")
        marked = obs["segmentation_work"][..., 0] == CLASS_ID["target_object"]
        assert marked.sum() > 10 and np.array_equal(marked, bodies == target)
        others = np.isin(bodies, [b for b in core.task.part_bodies if b != target])
        assert (obs["segmentation_work"][..., 0][others] == CLASS_ID["other_object"]).all()
    assert len(targets) > 1  # the draw changes which part is the target


def test_a_point_cloud_lies_on_the_bodies_in_the_robot_base_frame_and_repeats_exactly():
    env = gym.make("embodia/BinPicking-v0", obs_mode="point_cloud", cameras=("front", "work"), point_cloud_size=2048)
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    xyz, rgb, classes = obs["point_xyz"], obs["point_rgb"], obs["point_class"][:, 0]
    assert xyz.shape == (2048, 3) and rgb.shape == (2048, 3) and classes.shape == (2048,)
    assert (np.linalg.norm(xyz, axis=1) < WORKSPACE_RADIUS_M).all()
    core = env.unwrapped.core
    base = core.sim.xpos[0, core.robot.base_body]
    part = core.sim.xpos[0, core.task.grasp_target_bodies(core.sim)[0]] - base  # the base is not rotated here
    on_part = xyz[classes == CLASS_ID["target_object"]]
    assert len(on_part) >= 3
    assert np.linalg.norm(on_part - part, axis=1).max() < 0.04  # on the part's surface: its half-diagonal
    bench = xyz[classes == CLASS_ID["furniture"]]
    assert np.median(bench[:, 2]) == pytest.approx(0.0, abs=0.03)  # the bench top is level with the base
    assert rgb[classes == CLASS_ID["robot"]].mean() > 0  # colours come with the points
    again, _ = env.reset(seed=3)
    for key in ("point_xyz", "point_rgb", "point_class"):
        assert np.array_equal(again[key], obs[key])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"obs_mode": "point_cloud", "cameras": ()}, "obs_mode='point_cloud' needs at least one camera"),
        ({"obs_mode": "point_cloud", "point_cloud_size": 0}, "point_cloud_size"),
        ({"obs_mode": "pixels", "cameras": ("front", "wrist")}, "unknown camera 'wrist'"),
        ({"segmentation": True}, "segmentation=True adds images to pixel observations; obs_mode='dict' has none"),
        ({"obs_mode": "point_cloud", "depth": True}, "depth=True adds images to pixel observations"),
    ],
)
def test_bad_image_options_are_refused_naming_the_value(options, message):
    with pytest.raises(ValueError, match=message):
        gym.make("embodia/Reach-v0", **options)
