"""Pixel observations drawn on two threads are the frames one renderer draws, in simulation order; closing the env
ends the threads; a renderer that cannot be made is an error at the first observation."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from embodia.envs.core.batched_env import BatchedEnv
from embodia.envs.core.render_pool import RenderPool
from embodia.envs.core.rendering import SimRenderer
from embodia.envs.tasks.registry import task_spec

TASK = "embodia/Handover-v0"


def render_threads() -> int:
    return sum(t.name == "embodia-render" for t in threading.enumerate())


def test_two_threads_draw_the_frames_of_one_renderer_in_order_and_stop_on_close():
    before = render_threads()
    env = BatchedEnv(task_spec(TASK).task, 3, obs_mode="pixels", cameras=("work",), depth=True, segmentation=True,
                     image_size=(48, 64))  # fmt: skip
    obs, _ = env.reset(seeds=[0, 1, 2])
    assert render_threads() == before + 2
    renderer = SimRenderer(env.model, 48, 64, preset="fast")
    try:
        for sim_id in range(3):
            renderer.load(env.sim, sim_id)
            assert np.array_equal(obs["camera_work"][sim_id], renderer.render("work"))
            assert np.array_equal(obs["depth_work"][sim_id, :, :, 0], renderer.render("work", depth=True))
    finally:
        renderer.close()
    assert not np.array_equal(obs["camera_work"][0], obs["camera_work"][1])  # three episodes, three scenes
    env.close()
    assert render_threads() == before


def test_a_renderer_that_cannot_be_made_fails_the_pool_at_once():
    def broken() -> SimRenderer:
        raise RuntimeError("no GL here")

    before = render_threads()
    with pytest.raises(RuntimeError, match="no GL here"):
        RenderPool(broken, workers=2)
    assert render_threads() == before


def test_an_error_while_drawing_reaches_the_caller():
    env = BatchedEnv(task_spec("embodia/Reach-v0").task, 2)
    env.reset(seeds=[0, 1])
    pool = RenderPool(lambda: SimRenderer(env.model, 16, 16, preset="fast"), workers=2)
    try:
        assert pool.map(lambda renderer, i: i * 10, [0, 1, 2, 3, 4]) == [0, 10, 20, 30, 40]
        with pytest.raises(ValueError, match="nowhere"):
            pool.map(lambda renderer, i: renderer.render("nowhere") if i == 3 else i, range(5))
        assert pool.map(lambda renderer, i: i, range(3)) == [0, 1, 2]  # the pool still works
    finally:
        pool.close()
