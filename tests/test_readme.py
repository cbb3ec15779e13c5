"""The README's Python examples run as written: a new user's first hour starts by pasting them.

Every ```python block of README.md is executed in order in one namespace (later blocks use names the earlier ones
made, as a reader's session would), and what the text around them promises is checked on what they made: the
frame, the vector env's batch, the pixel and point-cloud observations, the batched expert's step.
"""

from __future__ import annotations

import re
import types
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def run_block(blocks: list[str], number: int, namespace: dict) -> None:
    try:
        exec(compile(blocks[number], f"README.md python block {number}", "exec"), namespace)
    except Exception as error:
        raise AssertionError(f"README.md's python block {number} fails:\n{blocks[number]}") from error


def test_the_readme_python_examples_run_and_do_what_the_text_says() -> None:
    blocks = python_blocks()
    assert len(blocks) == 3, f"README.md has {len(blocks)} python blocks: check each one here"
    namespace: dict = {"__name__": "readme"}
    made = []  # every env the examples make, to check and close
    try:
        run_block(blocks, 0, namespace)
        frame, envs = namespace["frame"], namespace["envs"]
        made += [namespace["env"], envs]
        assert frame.shape == (480, 640, 3) and frame.std() > 10  # "480x640 RGB, headless", and not blank
        assert all(namespace["info"]["instruction"])  # every episode says what it asks for, in words
        assert all(np.shape(value)[0] == 64 for value in namespace["obs"].values())  # 64 simulations

        gym = namespace["gym"]  # the next block's gym.make calls, kept to look at what they made
        namespace["gym"] = types.SimpleNamespace(make=lambda *a, **k: made.append(gym.make(*a, **k)) or made[-1])
        run_block(blocks, 1, namespace)
        namespace["gym"] = gym
        pixels, cloud = made[-2:]
        obs, _ = pixels.reset(seed=0)
        for camera in ("work", "robot_wrist"):  # RGB, depth in metres and classes per camera
            rgb, depth, classes = (obs[f"{kind}_{camera}"] for kind in ("camera", "depth", "segmentation"))
            assert rgb.shape == (84, 84, 3) and rgb.std() > 10  # an image, not a blank
            assert depth.shape == (84, 84, 1) and 0.01 < depth.min() < 3.0
            assert classes.shape == (84, 84, 1) and len(np.unique(classes)) >= 2
        obs, _ = cloud.reset(seed=0)
        assert obs["point_xyz"].shape == (1024, 3) and np.isfinite(obs["point_xyz"]).all()

        run_block(blocks, 2, namespace)
        made.append(namespace["env"])
        info, reward = namespace["info"], namespace["reward"]
        assert reward.shape == (16,) and info["success"].shape == (16,) and np.isfinite(reward).all()
    finally:
        for env in made:
            env.close()
