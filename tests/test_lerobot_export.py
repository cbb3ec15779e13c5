"""The LeRobot export, checked field by field against the v3.0 layout with pyarrow and PyAV (LeRobot itself does
not install beside our torch on Python 3.11): info, tasks, episodes, data rows, statistics and videos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
av = pytest.importorskip("av")

from embodia.agents.evaluate import run_episodes  # noqa: E402
from embodia.cli import main  # noqa: E402
from embodia.envs.record import replay  # noqa: E402
from embodia.envs.record.dataset import find_episode_files, read_episode  # noqa: E402
from embodia.envs.record.lerobot_export import LeRobotExportError, export_lerobot  # noqa: E402

SIZE = (96, 128)
CAMERAS = ("work", "robot/wrist")
VIDEO_KEYS = ("observation.images.work", "observation.images.robot_wrist")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("lerobot")
    run_episodes("embodia/BinPicking-v0", "expert", 3, seed=0, record_dir=root / "rec", progress=False, video=False)
    files = find_episode_files(root / "rec")
    out = export_lerobot(files, root / "ds", cameras=CAMERAS, image_size=SIZE)
    return out, [read_episode(f) for f in files], files


def test_info_names_the_version_paths_counts_and_every_feature(exported):
    out, episodes, _ = exported
    info = json.loads((out / "meta" / "info.json").read_text())
    total = sum(e.length for e in episodes)
    assert info["codebase_version"] == "v3.0" and info["fps"] == 20 and isinstance(info["fps"], int)
    assert (info["total_episodes"], info["total_frames"]) == (3, total)
    assert info["total_tasks"] == len({e.metadata["instruction"] for e in episodes})
    assert info["splits"] == {"train": "0:3"} and info["chunks_size"] == 1000
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    features = info["features"]
    for name in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        assert features[name]["shape"] == [1]
    assert features["timestamp"]["dtype"] == "float32" and features["index"]["dtype"] == "int64"
    assert features["action"]["shape"] == [7] and features["action"]["names"][-1] == "gripper"
    state = features["observation.state"]
    assert state["dtype"] == "float32" and len(state["names"]) == state["shape"][0]
    assert all(n.startswith("robot_") for n in state["names"])
    assert all(n.startswith("task_") for n in features["observation.environment_state"]["names"])
    for key in VIDEO_KEYS:
        video = features[key]
        assert video["dtype"] == "video" and video["shape"] == [*SIZE, 3]
        assert video["names"] == ["height", "width", "channels"]
        assert video["info"]["video.codec"] == "h264" and video["info"]["video.pix_fmt"] == "yuv420p"
        assert video["info"]["video.fps"] == 20 and video["info"]["has_audio"] is False


def test_the_data_rows_are_the_episodes_steps_with_indices_timestamps_and_tasks(exported):
    out, episodes, _ = exported
    info = json.loads((out / "meta" / "info.json").read_text())
    table = pq.read_table(out / "data" / "chunk-000" / "file-000.parquet")
    video_free = [k for k, f in info["features"].items() if f["dtype"] != "video"]
    assert sorted(table.column_names) == sorted(video_free)
    for name in ("observation.state", "observation.environment_state", "action"):
        field = table.schema.field(name).type
        assert pa.types.is_fixed_size_list(field) and field.value_type == pa.float32()
        assert field.list_size == info["features"][name]["shape"][0]
    rows = table.to_pydict()
    total = sum(e.length for e in episodes)
    assert rows["index"] == list(range(total))
    tasks = pq.read_table(out / "meta" / "tasks.parquet").to_pydict()
    task_of = dict(zip(tasks["task_index"], tasks["task"], strict=True))
    start = 0
    for k, episode in enumerate(episodes):
        rows_k = slice(start, start + episode.length)
        assert rows["episode_index"][rows_k] == [k] * episode.length
        assert rows["frame_index"][rows_k] == list(range(episode.length))
        np.testing.assert_allclose(rows["timestamp"][rows_k], np.arange(episode.length) / 20.0, atol=1e-6)
        np.testing.assert_array_equal(np.array(rows["action"][rows_k], np.float32), episode.actions.astype(np.float32))
        np.testing.assert_array_equal(np.array(rows["next.reward"][rows_k], np.float32),
                                      episode.rewards.astype(np.float32))  # fmt: skip
        robot_keys = [key for key in sorted(episode.observations) if key.startswith("robot_")]
        parts = [episode.observations[key][:-1].reshape(episode.length, -1) for key in robot_keys]
        expected = np.concatenate(parts, axis=1)
        np.testing.assert_array_equal(np.array(rows["observation.state"][rows_k], np.float32),
                                      expected.astype(np.float32))  # fmt: skip
        assert {task_of[t] for t in rows["task_index"][rows_k]} == {episode.metadata["instruction"]}
        assert rows["next.success"][start + episode.length - 1] is True  # the expert finished
        assert rows["next.done"][start + episode.length - 1] is True
        start += episode.length


def test_tasks_episodes_and_stats_say_where_each_episode_is(exported):
    out, episodes, _ = exported
    tasks = pq.read_table(out / "meta" / "tasks.parquet")
    assert json.loads(tasks.schema.metadata[b"pandas"])["index_columns"] == ["task"]  # pandas reads the task as index
    assert len(set(tasks.column("task").to_pylist())) == tasks.num_rows
    table = pq.read_table(out / "meta" / "episodes" / "chunk-000" / "file-000.parquet").to_pylist()
    start, video_start = 0, 0.0
    for k, (row, episode) in enumerate(zip(table, episodes, strict=True)):
        assert row["episode_index"] == k and row["length"] == episode.length
        assert row["tasks"] == [episode.metadata["instruction"]]
        assert (row["dataset_from_index"], row["dataset_to_index"]) == (start, start + episode.length)
        assert (row["data/chunk_index"], row["data/file_index"]) == (0, 0)
        assert (row["meta/episodes/chunk_index"], row["meta/episodes/file_index"]) == (0, 0)
        for key in VIDEO_KEYS:
            assert row[f"videos/{key}/from_timestamp"] == pytest.approx(video_start)
            assert row[f"videos/{key}/to_timestamp"] == pytest.approx(video_start + episode.length / 20.0)
        for stat in ("min", "max", "mean", "std", "count"):
            assert f"stats/action/{stat}" in row
        assert row["stats/action/count"] == [episode.length]
        start += episode.length
        video_start += episode.length / 20.0
    stats = json.loads((out / "meta" / "stats.json").read_text())
    actions = np.concatenate([e.actions for e in episodes])
    np.testing.assert_allclose(stats["action"]["mean"], actions.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(stats["action"]["std"], actions.std(axis=0), atol=1e-5)
    assert stats["action"]["count"] == [len(actions)]
    image = stats["observation.images.work"]
    assert np.asarray(image["mean"]).shape == (3, 1, 1) and 0 < np.min(image["mean"]) < 1


def test_the_videos_decode_to_every_frame_of_the_recorded_states(exported):
    out, episodes, files = exported
    total = sum(e.length for e in episodes)
    for camera, key in zip(CAMERAS, VIDEO_KEYS, strict=True):
        with av.open(str(out / "videos" / key / "chunk-000" / "file-000.mp4")) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
            assert (stream.codec_context.height, stream.codec_context.width) == SIZE
            assert float(stream.average_rate) == pytest.approx(20.0)
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        assert len(frames) == total
        # the second episode's first frame is its first recorded state, rendered afresh
        env = replay.make_replay_env(episodes[1], str(files[1]), render_size=SIZE, render_preset="fast")
        try:
            replay.restore(env, episodes[1], 0)
            expected = env.render(0, camera)
        finally:
            env.close()
        decoded = frames[episodes[0].length].astype(float)
        assert np.abs(decoded - expected).mean() < 6.0  # h264's loss, not another frame


def test_bad_exports_are_refused_and_nothing_is_overwritten(exported, tmp_path):
    out, _, files = exported
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(LeRobotExportError, match="exists; choose another folder or pass --overwrite"):
        export_lerobot(files, out)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    with pytest.raises(LeRobotExportError, match=r"image size \(95, 128\) is not valid"):
        export_lerobot(files, tmp_path / "odd", image_size=(95, 128))
    with pytest.raises(LeRobotExportError, match="no episodes to export"):
        export_lerobot([], tmp_path / "none")
    assert not (tmp_path / "odd").exists() and not (tmp_path / "none").exists()


def test_the_cli_exports_a_recorded_folder(exported, tmp_path, capsys):
    _, _, files = exported
    folder = Path(files[0]).parent
    assert main(["dataset", "export", str(folder), "--format", "lerobot", "--out", str(tmp_path / "cli"),
                 "--camera", "front", "--image-size", "48", "64"]) == 0  # fmt: skip
    assert "LeRobot v3.0, 3 episodes" in capsys.readouterr().out
    info = json.loads((tmp_path / "cli" / "meta" / "info.json").read_text())
    assert info["features"]["observation.images.front"]["shape"] == [48, 64, 3]
    assert main(["dataset", "export", str(folder), "--format", "lerobot", "--out", str(tmp_path / "cli")]) == 2
