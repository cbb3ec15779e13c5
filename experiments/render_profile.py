"""Where a software-GL frame's time goes: the render settings one at a time, triangle count, tiling, threads.

    python experiments/render_profile.py                    # BinPicking's front camera; about 2 min
    python experiments/render_profile.py --task Handover

Prints frames/s of one ``mujoco.Renderer`` at 640x480 for the old quality look (4x multisampling, shadows with a
2048 map, reflections, sky, 28 slices), each setting removed alone, and the ``quality`` preset; at 84x84 with 16
and 8 slices; 16 simulations tiled into one framebuffer with one readback against one frame at a time; and 84x84
frames of 16 simulations on 1 and 2 threads (``envs/core/render_pool.py``). The figures behind the render presets
(``envs/core/rendering.py``) and the README's performance notes.
"""

from __future__ import annotations

import argparse
import time

import mujoco
import numpy as np

import embodia  # noqa: F401  (selects the GL backend before mujoco renders)
from embodia.commands.common import task_name_arg
from embodia.envs.core.batched_env import BatchedEnv
from embodia.envs.core.render_pool import RenderPool
from embodia.envs.core.rendering import SimRenderer
from embodia.envs.tasks.registry import task_spec

WINDOW_S = 2.0
SIMS = 16


def rate(call, frames_per_call: int = 1) -> float:
    call()
    start, frames = time.perf_counter(), 0
    while time.perf_counter() - start < WINDOW_S:
        call()
        frames += frames_per_call
    return frames / (time.perf_counter() - start)


def settings_fps(env: BatchedEnv, size, multisamples, shadows, reflections, sky, slices, shadow_size) -> float:
    model = env.model.__copy__()
    quality = model.vis.quality
    quality.offsamples, quality.shadowsize = multisamples, shadow_size
    quality.numslices, quality.numstacks = slices, slices // 2
    model.vis.global_.offwidth = max(model.vis.global_.offwidth, size[1])
    model.vis.global_.offheight = max(model.vis.global_.offheight, size[0])
    renderer, data = mujoco.Renderer(model, *size), mujoco.MjData(model)
    env.sim.batch.get_data(0, data)
    mujoco.mj_forward(model, data)
    flags = renderer.scene.flags
    flags[mujoco.mjtRndFlag.mjRND_SHADOW], flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = shadows, reflections
    flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = sky

    def frame() -> None:
        renderer.update_scene(data, camera="front")
        renderer.render()

    try:
        return rate(frame)
    finally:
        renderer.close()


def tiled_fps(env: BatchedEnv, side: int = 84, grid: int = 4) -> float:
    tiles = SimRenderer(env.model, side * grid, side * grid, "fast")
    raw, model = tiles.renderer, tiles.model
    option, camera = mujoco.MjvOption(), mujoco.MjvCamera()
    camera.type, camera.fixedcamid = mujoco.mjtCamera.mjCAMERA_FIXED, model.camera("front").id
    datas = [mujoco.MjData(model) for _ in range(SIMS)]
    out = np.empty((side * grid, side * grid, 3), np.uint8)

    def frame() -> None:
        raw._gl_context.make_current()
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, raw._mjr_context)
        for i, data in enumerate(datas):
            env.sim.batch.get_data(i, data)
            mujoco.mj_forward(model, data)
            mujoco.mjv_updateScene(model, data, option, None, camera, mujoco.mjtCatBit.mjCAT_ALL, raw._scene)
            viewport = mujoco.MjrRect((i % grid) * side, (i // grid) * side, side, side)
            mujoco.mjr_render(viewport, raw._scene, raw._mjr_context)
        mujoco.mjr_readPixels(out, None, mujoco.MjrRect(0, 0, side * grid, side * grid), raw._mjr_context)

    try:
        return rate(frame, SIMS)
    finally:
        tiles.close()


def pool_fps(env: BatchedEnv, workers: int) -> float:
    pool = RenderPool(lambda: SimRenderer(env.model, 84, 84, "fast"), workers)

    def draw(renderer: SimRenderer, sim_id: int) -> None:
        renderer.load(env.sim, sim_id)
        renderer.render("front")

    try:
        return rate(lambda: pool.map(draw, range(SIMS)), SIMS)
    finally:
        pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="BinPicking", type=task_name_arg)
    args = parser.parse_args()
    env = BatchedEnv(task_spec(f"embodia/{args.task}-v0").task, SIMS)
    env.reset(seeds=list(range(SIMS)))
    with open("/proc/loadavg") as load:
        print(f"{args.task}, load average {load.read().split()[0]} at start; frames/s")
    large = (480, 640)
    old = dict(multisamples=4, shadows=True, reflections=True, sky=True, slices=28, shadow_size=2048)
    rows = [
        ("640x480 old quality look (now studio)", large, old),
        ("  without multisampling", large, {**old, "multisamples": 0}),
        ("  without shadows", large, {**old, "shadows": False}),
        ("  without reflections", large, {**old, "reflections": False}),
        ("  shadow map 1024", large, {**old, "shadow_size": 1024}),
        (
            "640x480 quality preset",
            large,
            {**old, "multisamples": 0, "reflections": False, "slices": 16, "shadow_size": 1024},
        ),
        (
            "84x84, no shadows, 16 slices",
            (84, 84),
            {**old, "multisamples": 0, "shadows": False, "reflections": False, "sky": False, "slices": 16},
        ),
        (
            "84x84, no shadows, 8 slices (fast preset)",
            (84, 84),
            {**old, "multisamples": 0, "shadows": False, "reflections": False, "sky": False, "slices": 8},
        ),
    ]
    for label, size, settings in rows:
        print(f"| {label} | {settings_fps(env, size, **settings):.1f} |", flush=True)
    print(f"| 84x84 fast, {SIMS} simulations tiled, one readback | {tiled_fps(env):.0f} |", flush=True)
    for workers in (1, 2):
        print(f"| 84x84 fast, {SIMS} simulations on {workers} thread(s) | {pool_fps(env, workers):.0f} |", flush=True)
    env.close()


if __name__ == "__main__":
    main()
