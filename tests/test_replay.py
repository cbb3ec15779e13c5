"""Recording through the Gymnasium wrappers, and exact replay: restored observations, re-simulation, re-rendering."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import av
import gymnasium as gym
import numpy as np
import pytest

import embodia  # noqa: F401  (registers the tasks, selects the GL backend)
from embodia.envs.record import replay
from embodia.envs.record.episode import load_episode
from embodia.envs.record.frames import draw_overlay, overlay_lines, tile
from embodia.envs.record.wrappers import RecordEpisodes, RecordVectorEpisodes
from embodia.envs.tasks.registry import TASKS

ENV_ID = "embodia/BinPicking-v0"
STEPS = 12


def embodia_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "embodia.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def single_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[list[dict]]]:
    """Two short random episodes recorded through the single-env wrapper, with the observations the env returned."""
    out = tmp_path_factory.mktemp("single") / "run"
    env = RecordEpisodes(gym.make(ENV_ID, episode_steps=STEPS), out, policy="random")
    env.action_space.seed(0)
    returned = []
    for seed in (5, 6):
        obs, _ = env.reset(seed=seed)
        seen = [obs]
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            seen.append(obs)
            done = terminated or truncated
        returned.append(seen)
    env.close()
    return out, returned


def test_single_wrapper_records_what_the_env_returned(single_run: tuple[Path, list[list[dict]]]) -> None:
    out, returned = single_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == 2 and summary["policy"] == "random"
    for k, seen in enumerate(returned):
        episode = load_episode(out / f"episode_{k:04d}.npz")
        assert episode.metadata["env_id"] == ENV_ID and episode.metadata["seed"] == 5 + k
        assert episode.metadata["env_kwargs"] == {"episode_steps": STEPS}
        assert episode.length == STEPS == len(seen) - 1
        for key, values in episode.observations.items():
            np.testing.assert_array_equal(values, np.stack([obs[key] for obs in seen]))
        assert episode.truncated[-1] and not episode.truncated[:-1].any()
        assert set(episode.task_state) == {"target"}


def test_restored_states_give_the_recorded_observations_bit_for_bit(single_run) -> None:
    out, _ = single_run
    for k in range(2):
        episode = load_episode(out / f"episode_{k:04d}.npz")
        env = replay.make_replay_env(episode)
        assert replay.compare_observations(env, episode).identical
        assert replay.resimulate(env, episode).identical
        env.close()


def test_vector_wrapper_records_autoreset_episodes(tmp_path: Path) -> None:
    out = tmp_path / "vec"
    venv = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", episode_steps=8)
    venv = RecordVectorEpisodes(venv, out, policy="random")
    rng = np.random.default_rng(0)
    obs, _ = venv.reset(seed=10)
    first_obs = {0: [obs["robot_tcp_pos"][0].copy()], 1: [obs["robot_tcp_pos"][1].copy()]}
    for _ in range(20):  # two whole episodes per simulation, a third one cut off by close()
        obs, _, _, _, info = venv.step(rng.uniform(-1, 1, size=(2, 7)))
        for i in np.flatnonzero(info.get("_final_obs", [False, False])):
            first_obs[int(i)].append(obs["robot_tcp_pos"][i].copy())
    venv.close()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == 4 and summary["incomplete_episodes_dropped"] == 2
    episodes = [load_episode(p) for p in sorted(out.glob("episode_*.npz"))]
    assert [e.length for e in episodes] == [8, 8, 8, 8]
    seeds = sorted((e.metadata["slot_seed"], e.metadata["episode_in_slot"], e.metadata["seed"]) for e in episodes)
    assert seeds == [(10, 0, 10), (10, 1, None), (11, 0, 11), (11, 1, None)]
    for episode in episodes:
        slot = episode.metadata["slot_seed"] - 10
        expected = first_obs[slot][episode.metadata["episode_in_slot"]]
        np.testing.assert_array_equal(episode.observations["robot_tcp_pos"][0], expected)
        env = replay.make_replay_env(episode)  # autoreset episodes too: their draws are in the file
        assert replay.compare_observations(env, episode).identical
        assert replay.resimulate(env, episode).identical
        env.close()


def test_replay_cli_renders_tiled_cameras_at_any_size(single_run) -> None:
    out, _ = single_run
    source = out / "episode_0000.npz"
    video = out / "replay.mp4"
    command = ["replay", str(source), "--camera", "front", "--camera", "top", "--render-size", "64x96"]
    result = embodia_cli(*command, "--render-preset", "fast", "--out", str(video))
    assert result.returncode == 0, result.stderr
    assert "restored observations: identical" in result.stdout and "re-simulated states: identical" in result.stdout
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        decoded = list(container.decode(video=0))
    assert len(decoded) == STEPS + 1
    assert (decoded[0].height, decoded[0].width) == (64, 192)  # two 64x96 views side by side
    assert decoded[0].to_ndarray(format="rgb24").std() > 10  # a rendered scene, not a blank frame
    again = embodia_cli(*command, "--out", str(video))
    assert again.returncode == 2 and "exists" in again.stderr and "Traceback" not in again.stderr


def test_replay_warns_about_other_versions_and_reports_a_tampered_file(single_run, tmp_path: Path) -> None:
    out, _ = single_run
    episode = load_episode(out / "episode_0001.npz")
    old = dataclasses.replace(episode, metadata={**episode.metadata, "versions": {"embodia": "0.0.1", "mujoco": "3.0"}})
    with pytest.warns(replay.ReplayVersionWarning, match="embodia 0.0.1"):
        replay.make_replay_env(old).close()
    path = old.save(tmp_path / "old.npz")
    result = embodia_cli("replay", str(path), "--no-video")
    assert result.returncode == 0 and "warning: " in result.stdout and "mujoco 3.0" in result.stdout

    actions = episode.actions.copy()
    actions[4, 0] = -actions[4, 0] if actions[4, 0] else 0.5
    tampered = dataclasses.replace(episode, actions=actions).save(tmp_path / "tampered.npz")
    result = embodia_cli("replay", str(tampered), "--no-video")
    assert result.returncode == 1 and "re-simulated states: DIFFER from step 5" in result.stdout


def test_a_recording_made_before_the_controller_revision_was_kept_replays_with_a_warning(single_run) -> None:
    """An episode recorded with the first controller (whose zero action let the TCP creep) names no controller: the
    replay says so rather than reporting a divergence it cannot help."""
    from embodia.envs.control.controllers import CONTROLLER_REVISION

    out, _ = single_run
    episode = load_episode(out / "episode_0001.npz")
    assert episode.metadata["versions"]["controller"] == str(CONTROLLER_REVISION)
    assert replay.version_differences(episode.metadata) == {}
    versions = {k: v for k, v in episode.metadata["versions"].items() if k != "controller"}
    older = dataclasses.replace(episode, metadata={**episode.metadata, "versions": versions})
    assert replay.version_differences(older.metadata) == {"controller": ("1", str(CONTROLLER_REVISION))}
    with pytest.warns(replay.ReplayVersionWarning, match=f"controller 1 \\(now {CONTROLLER_REVISION}\\)"):
        replay.make_replay_env(older).close()


def test_replay_of_unknown_task_is_a_one_line_error(single_run, tmp_path: Path) -> None:
    out, _ = single_run
    episode = load_episode(out / "episode_0000.npz")
    meta = {**episode.metadata, "env_id": "embodia/Nope-v0", "task": ""}
    path = dataclasses.replace(episode, metadata=meta).save(tmp_path / "nope.npz")
    result = embodia_cli("replay", str(path))
    assert result.returncode == 2 and "unknown task 'embodia/Nope-v0'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_overlay_writes_figures_into_the_frame() -> None:
    frame = np.full((120, 160, 3), 200, dtype=np.uint8)
    lines = overlay_lines(7, 0.5, True, {"safety/max_contact_force_n": np.float64(12.5)}, 3.0)
    assert lines == ["step 7", "reward +0.500  return 3.00", "SUCCESS", "max force on person 12.5 N"]
    drawn = draw_overlay(frame, lines)
    assert drawn.shape == frame.shape and drawn.dtype == np.uint8
    assert (drawn[:30, :60] != frame[:30, :60]).any() and (drawn[-20:, -40:] == frame[-20:, -40:]).all()
    grid = tile([frame, frame * 0, frame])
    assert grid.shape == (120, 480, 3) and (grid[:, 160:320] == 0).all()
    with pytest.raises(ValueError, match="share one size"):
        tile([frame, frame[:60]])


@pytest.mark.parametrize("env_id", sorted(TASKS))
def test_every_task_replays_its_autoreset_episodes_exactly(env_id: str, tmp_path: Path) -> None:
    """Each task records what it draws outside the MuJoCo state (Task.episode_state_fields), so that even an
    autoreset episode, which has no seed of its own, re-simulates bit for bit."""
    venv = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", episode_steps=5)
    venv = RecordVectorEpisodes(venv, tmp_path / "run")
    rng = np.random.default_rng(1)
    venv.reset(seed=20)
    for _ in range(10):
        venv.step(rng.uniform(-1, 1, size=(2, *venv.single_action_space.shape)))
    venv.close()
    episodes = [load_episode(p) for p in sorted((tmp_path / "run").glob("episode_*.npz"))]
    assert len(episodes) == 4 and sum(e.metadata["seed"] is None for e in episodes) == 2
    for episode in episodes:
        env = replay.make_replay_env(episode)
        assert replay.compare_observations(env, episode).identical, episode.metadata
        assert replay.resimulate(env, episode).identical, episode.metadata
        env.close()
