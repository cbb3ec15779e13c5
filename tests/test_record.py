"""Episode files, videos and crash safety: real physics, real files, real decoders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

import embodia  # noqa: F401  (selects the GL backend before mujoco loads)
from embodia.agents.experts.bin_picking import BinPickingExpert
from embodia.envs.core.batched_env import BatchedEnv, make_batched, take
from embodia.envs.record.atomic import atomic_write, folder_sync_once
from embodia.envs.record.episode import (
    FORMAT,
    Episode,
    EpisodeBuffer,
    EpisodeFileError,
    episode_metadata,
    load_episode,
)
from embodia.envs.record.video import VideoWriter, write_gif, write_video

ENV_ID = "embodia/BinPicking-v0"
STEPS = 12


def record_steps(num_steps: int = STEPS, seed: int = 3) -> tuple[Episode, BatchedEnv]:
    """A short expert episode of simulation 1 of 2, recorded through an EpisodeBuffer."""
    env = make_batched(ENV_ID, 2)
    expert = BinPickingExpert(2)
    obs, info = env.reset(seeds=[seed, seed + 1])
    expert.reset(np.arange(2))
    meta = episode_metadata(ENV_ID, {}, seed + 1, "expert", env.config.control_hz, episode=0)
    buffer = EpisodeBuffer(meta)
    buffer.reset(take(obs, 1), take(info, 1), env.sim.state(1), {"body_mass": env.sim.batch.expanded("body_mass")[1]})
    for _ in range(num_steps):
        action = expert.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        buffer.step(action[1], reward[1], terminated[1], truncated[1], take(obs, 1), take(info, 1), env.sim.state(1))
    return buffer.build(), env


@pytest.fixture(scope="module")
def episode() -> Episode:
    return record_steps()[0]


def test_episode_round_trip(tmp_path: Path, episode: Episode) -> None:
    path = episode.save(tmp_path / "episode_0000.npz")
    loaded = load_episode(path)
    assert loaded.length == STEPS
    assert loaded.metadata["format"] == FORMAT
    assert loaded.metadata["env_id"] == ENV_ID and loaded.metadata["seed"] == 4
    assert set(loaded.metadata["versions"]) >= {"embodia", "mujoco"}
    assert loaded.observations.keys() == episode.observations.keys()
    for key, value in episode.observations.items():
        assert loaded.observations[key].shape[0] == STEPS + 1
        np.testing.assert_array_equal(loaded.observations[key], value)
        assert loaded.observations[key].dtype == np.float32
    for name in ("actions", "rewards", "terminated", "truncated", "mj_state"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(episode, name))
    assert loaded.actions.shape == (STEPS, 7)
    assert loaded.mj_state.shape[0] == STEPS + 1
    assert {"success", "fail", "grasped", "physics_unstable", "reward_terms/reach"} <= set(loaded.info)
    assert all(v.shape == (STEPS + 1,) for v in loaded.info.values())
    np.testing.assert_array_equal(loaded.model["body_mass"], episode.model["body_mass"])


def test_recorded_state_restores_the_simulation(episode: Episode) -> None:
    """Row t of mj_state is the physics state that produced observation t."""
    import mujoco

    env = make_batched(ENV_ID, 1)
    data = mujoco.MjData(env.model)
    mujoco.mj_setState(env.model, data, episode.mj_state[-1], mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(env.model, data)
    tcp = data.site_xpos[env.robot.tcp_site]
    np.testing.assert_allclose(tcp, episode.observations["robot_tcp_pos"][-1], atol=1e-6)


def test_existing_file_is_not_overwritten(tmp_path: Path, episode: Episode) -> None:
    path = tmp_path / "episode_0000.npz"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError, match=r"episode_0000\.npz"):
        episode.save(path)
    assert path.read_bytes() == b"precious"
    assert list(tmp_path.iterdir()) == [path]  # no temporary left behind
    episode.save(path, overwrite=True)
    assert load_episode(path).length == STEPS


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_damaged_file_gives_one_line_error(tmp_path: Path, episode: Episode, damage: str) -> None:
    path = episode.save(tmp_path / "episode_0000.npz")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :])
    elif damage == "garbage":
        path.write_bytes(b"not an episode at all\n" * 10)
    else:
        path.write_bytes(b"")
    with pytest.raises(EpisodeFileError) as raised:
        load_episode(path)
    message = str(raised.value)
    assert str(path) in message and "\n" not in message


def test_foreign_npz_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez_compressed(path, actions=np.zeros((3, 7)))
    with pytest.raises(EpisodeFileError, match=r"other\.npz: not an embodia episode file"):
        load_episode(path)
    with pytest.raises(FileNotFoundError, match=r"missing\.npz"):
        load_episode(tmp_path / "missing.npz")


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_write(tmp_path / "x.json") as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash while writing")
    assert list(tmp_path.iterdir()) == []


def decode(path: Path) -> tuple[int, int, int, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return len(frames), frames[0].height, frames[0].width, stream.codec_context.name


@pytest.mark.parametrize(("height", "width"), [(96, 128), (75, 101)])
def test_mp4_decodes_with_right_frames_and_size(tmp_path: Path, height: int, width: int) -> None:
    env = make_batched(ENV_ID, 1, render_size=(height, width), render_preset="fast")
    env.reset(seeds=[0])
    frames = []
    for _ in range(7):
        frames.append(env.render(0))
        env.step(np.zeros((1, 7)))
    path = write_video(tmp_path / "clip.mp4", frames, fps=env.config.control_hz)
    count, h, w, codec = decode(path)
    assert (count, codec) == (7, "h264")
    assert (h, w) == (height + height % 2, width + width % 2)  # odd sizes padded to even for yuv420p
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
    with pytest.raises(FileExistsError, match=r"clip\.mp4"):
        write_video(path, frames, fps=20)


def test_aborted_video_leaves_nothing(tmp_path: Path) -> None:
    frame = np.zeros((32, 32, 3), dtype=np.uint8)
    with pytest.raises(KeyboardInterrupt), VideoWriter(tmp_path / "clip.mp4", fps=20) as writer:
        writer.append(frame)
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_gif(tmp_path: Path) -> None:
    frames = [np.full((16, 24, 3), k * 20, dtype=np.uint8) for k in range(6)]
    path = write_gif(tmp_path / "clip.gif", frames, fps=10, every=2)
    with av.open(str(path)) as container:
        decoded = list(container.decode(video=0))
    assert len(decoded) == 3 and (decoded[0].height, decoded[0].width) == (16, 24)


def test_killed_recording_leaves_only_complete_episodes(tmp_path: Path) -> None:
    """SIGKILL a recording after its first episode file appears: every .npz present is complete."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "embodia.cli", "run", ENV_ID, "--episodes", "8", "--num-envs", "2"]
    command += ["--record", str(out), "--render-size", "64x80", "--render-preset", "fast", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("episode_*.npz")):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no episode file appeared"
            time.sleep(0.02)
        assert process.poll() is None, "the run finished before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (out / "summary.json").exists()
    assert json.loads((out / "meta.json").read_text())["env_id"] == ENV_ID
    episodes = sorted(out.glob("*.npz"))
    assert episodes and all(p.name.startswith("episode_") for p in episodes)
    for path in episodes:
        episode = load_episode(path)
        assert episode.terminated[-1] or episode.truncated[-1]  # complete, not cut short
        stem = path.with_suffix("")
        assert json.loads(stem.with_suffix(".json").read_text())["length"] == episode.length
        assert decode(stem.with_suffix(".mp4"))[0] == episode.length + 1
    leftovers = [p for p in out.iterdir() if p.name.startswith(".")]
    assert all(".tmp" in p.name for p in leftovers)  # episodes in flight: hidden temporaries only


def test_a_recorded_gif_ends_on_the_episodes_last_frame(tmp_path: Path) -> None:
    """The GIF keeps every other frame but always the last, so a success shows in it (Reach's expert ends on an
    odd step here: 25 steps, frames 0-25)."""
    import imageio.v3 as iio

    from embodia.agents.evaluate import run_episodes
    from embodia.envs.record.recorder import VideoOptions

    options = VideoOptions(size=(48, 64), preset="fast", gif=True)
    out = run_episodes(
        "embodia/Reach-v0", episodes=1, seed=0, record_dir=tmp_path, progress=False, video_options=options
    )
    length = out["per_episode"][0]["length"]
    gif = iio.imread(tmp_path / "episode_0000.gif", index=None)
    video = iio.imread(tmp_path / "episode_0000.mp4", index=None)
    assert len(video) == length + 1
    assert len(gif) == length // 2 + 1 + length % 2
    last_gif, last_video = gif[-1][..., :3].astype(float), video[-1].astype(float)
    assert np.abs(last_gif - last_video).mean() < np.abs(gif[-2][..., :3].astype(float) - last_video).mean()


def test_the_same_episode_makes_the_same_file_in_any_process(tmp_path):
    """Byte for byte, whatever the process's string hashing (sets of model fields iterate in its order): what lets
    runs spread over workers write the files one process writes."""
    script = (
        "import sys; from embodia.agents.evaluate import run_episodes; "
        "run_episodes('embodia/BinPicking-v0', episodes=1, seed=3, record_dir=sys.argv[1], progress=False, video=False)"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / hash_seed)], check=True, env=env, timeout=300)
    first, second = (tmp_path / seed / "episode_0000.npz" for seed in ("1", "2"))
    assert first.read_bytes() == second.read_bytes()


def test_a_recorded_episode_syncs_each_file_and_its_folder_once(tmp_path: Path, monkeypatch) -> None:
    """Every file is fsynced before its rename; the folder once per episode (its renames made durable together),
    not once per file: each folder fsync is a journal commit on the writer thread."""
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    from embodia.agents.evaluate import run_episodes

    run_episodes(ENV_ID, episodes=2, seed=3, record_dir=tmp_path / "run", progress=False, video=False)
    folder = str((tmp_path / "run").resolve())
    kinds = []  # each fsync: an episode's file (its temporary name), the folder, or another file of the run
    for path in synced:
        name = Path(path).name
        kinds.append(name.split(".")[1] if name.startswith(".episode_") else "folder" if path == folder else "other")
    assert kinds.count("episode_0000") == kinds.count("episode_0001") == 2  # the JSON and the .npz
    for stem in ("episode_0000", "episode_0001"):
        first = kinds.index(stem)
        assert kinds[first : first + 3] == [stem, stem, "folder"]  # both files, then their folder once


def test_files_published_before_an_error_still_have_their_folder_synced(tmp_path: Path, monkeypatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    with pytest.raises(RuntimeError), folder_sync_once():
        with atomic_write(tmp_path / "a.json") as tmp:
            tmp.write_text("{}")
        assert str(tmp_path.resolve()) not in synced  # deferred to the block's end
        raise RuntimeError("the next file failed")
    assert (tmp_path / "a.json").read_text() == "{}"
    assert synced[-1] == str(tmp_path.resolve())
