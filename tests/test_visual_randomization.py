"""Visual domain randomization: off by default; on, the look changes per episode within the stated ranges while
the physics stays bit for bit the same, and a recorded episode replays to the same images."""

from __future__ import annotations

import numpy as np

from embodia.agents.evaluate import run_episodes
from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import BatchedEnv
from embodia.envs.core.rendering import SimRenderer
from embodia.envs.core.visual_randomization import RANGES
from embodia.envs.record import replay
from embodia.envs.record.dataset import find_episode_files, read_episode
from embodia.envs.tasks.registry import task_spec

TASK = "embodia/BinPicking-v0"


def frames(env: BatchedEnv, camera: str = "work") -> list[np.ndarray]:
    renderer = SimRenderer(env.model, 60, 80, preset="fast")
    try:
        images = []
        for sim_id in range(env.num_sims):
            renderer.load(env.sim, sim_id)
            images.append(renderer.render(camera))
        return images
    finally:
        renderer.close()


def expert_states(env: BatchedEnv, seeds: list[int], steps: int = 30) -> np.ndarray:
    expert = make_expert(TASK, env.num_sims)
    obs, info = env.reset(seeds=seeds)
    expert.reset(np.arange(env.num_sims), 0)
    states = [env.sim.states().copy()]
    for _ in range(steps):
        obs, *_, info = env.step(expert.act(obs, info))
        states.append(env.sim.states().copy())
    return np.stack(states)


def test_off_by_default_every_episode_looks_the_same():
    env = BatchedEnv(task_spec(TASK).task, 2)
    env.reset(seeds=[0, 1])
    assert env.sim.batch.expanded("mat_rgba") is None and env.sim.batch.expanded("cam_pos") is None


def test_on_each_episode_looks_different_within_the_ranges_and_the_physics_is_unchanged():
    plain = BatchedEnv(task_spec(TASK).task, 2)
    varied = BatchedEnv(task_spec(TASK).task, 2, visual_randomization=True)
    np.testing.assert_array_equal(expert_states(plain, [5, 6]), expert_states(varied, [5, 6]))
    assert plain.instructions.tolist() == varied.instructions.tolist()
    varied.reset(seeds=[5, 6])
    first, second = frames(varied)
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 5  # two episodes, two looks
    model = varied.model
    cam = varied.sim.batch.expanded("cam_pos")
    assert np.abs(cam - model.cam_pos).max() <= RANGES.camera_shift_m + 1e-12
    assert np.abs(cam - model.cam_pos).max() > 0
    scale = varied.sim.batch.expanded("light_diffuse") / np.maximum(model.light_diffuse, 1e-9)
    lit = model.light_diffuse > 0
    assert (scale[:, lit] >= RANGES.light_diffuse_scale[0] - 1e-9).all()
    robot_materials = {int(model.geom_matid[g]) for g in range(model.ngeom)
                       if model.body(int(model.geom_bodyid[g])).name.startswith("robot/")} - {-1}  # fmt: skip
    rgba = varied.sim.batch.expanded("mat_rgba")
    for material in robot_materials:  # the robot keeps its look
        np.testing.assert_array_equal(rgba[:, material], np.tile(model.mat_rgba[material], (2, 1)))
    varied.reset(seeds=[5, 6])
    again = frames(varied)
    assert all(np.array_equal(a, b) for a, b in zip(again, (first, second), strict=True))  # same seed, same look


def test_a_recorded_episode_replays_to_the_images_it_was_seen_with(tmp_path):
    run_episodes(TASK, "expert", 1, seed=11, record_dir=tmp_path, progress=False, video=False,
                 env_kwargs={"visual_randomization": True})  # fmt: skip
    path = find_episode_files(tmp_path)[0]
    episode = read_episode(path)
    assert "mat_rgba" in episode.model and "cam_quat" in episode.model
    live = BatchedEnv(task_spec(TASK).task, 1, visual_randomization=True)
    live.reset(seeds=[11])
    seen = frames(live)[0]
    env = replay.make_replay_env(episode, str(path))
    try:
        replay.restore(env, episode, 0)
        assert np.array_equal(frames(env)[0], seen)
    finally:
        env.close()
