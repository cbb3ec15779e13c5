"""The ``embodia`` command and ``run_episodes``: real runs in subprocesses, real recorded files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest

from embodia.agents.evaluate import run_episodes
from embodia.cli import main
from embodia.envs.record.episode import load_episode
from embodia.envs.tasks.registry import TASKS

ENV_ID = "embodia/BinPicking-v0"
FAST_VIDEO = ["--render-size", "64x80", "--render-preset", "fast"]


def embodia_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "embodia.cli", *args], capture_output=True, text=True, timeout=300)


def test_list(capsys: pytest.CaptureFixture) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(TASKS)
    for line, (env_id, entry) in zip(lines, TASKS.items(), strict=True):
        assert line.startswith(env_id) and line.endswith(entry.summary)


def test_info(capsys: pytest.CaptureFixture) -> None:
    assert main(["info", ENV_ID]) == 0
    out = capsys.readouterr().out
    assert "control: ee_delta at 20 Hz; physics timestep 0.002 s, 25 substeps" in out
    assert "episode: 200 steps (10 s)" in out
    assert "action: Box(-1.0, 1.0, (7,), float32)" in out
    assert "[0:3] TCP translation" in out and "[3:6] TCP rotation" in out and "[6] gripper" in out
    assert "robot_joint_pos      (7,) float32" in out and "task_slot_pos" in out


def test_info_lists_every_option_grouped_with_default_unit_and_range(capsys: pytest.CaptureFixture) -> None:
    assert main(["info", "embodia/PegInsertion-v0"]) == 0
    out = capsys.readouterr().out
    options = out[out.index("options (") :].splitlines()
    headers = [line.strip() for line in options if line.startswith("  ") and not line.startswith("    ")]
    assert headers == ["env options:", "task config:", "reward weights (dense reward = sum of weight x term):",
                       "physics:"]  # fmt: skip
    rows = {line.split()[0]: line for line in options if line.startswith("    ")}
    assert "one of: ee_delta, joint_delta, joint_abs" in rows["control_mode"]
    assert "one of: dict, flat, pixels, point_cloud, goal" in rows["obs_mode"]
    assert "front, side, top, work, robot/wrist" in rows["cameras"]
    assert "0.001 m" in rows["clearance_m"] and "radial" in rows["clearance_m"]
    assert "(0.06, 0.15) kg" in rows["peg_mass_kg"] and "> 0 kg" in rows["peg_mass_kg"]
    assert " 3 " in rows["w_insert"] and ">= 0" in rows["w_insert"]
    assert "0.002 s" in rows["physics.timestep_s"]
    assert "20 Hz" in rows["control_hz"]


def test_info_json_has_every_config_field(capsys: pytest.CaptureFixture) -> None:
    import dataclasses

    from embodia.envs.core.batched_env import EnvOptions, resolve_task

    assert main(["info", "embodia/Handover-v0", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["env_id"] == "embodia/Handover-v0" and info["control_hz"] == 20.0
    assert info["action"]["shape"] == [7] and "robot_tcp_pos" in info["observation"]
    options = {o["name"]: o for o in info["options"]}
    config = resolve_task(TASKS["embodia/Handover-v0"].task).Config
    assert {f.name for f in dataclasses.fields(config)} <= set(options)
    assert {f.name for f in dataclasses.fields(EnvOptions)} <= set(options)
    assert {o["group"] for o in info["options"]} == {"env", "task", "reward", "physics", "person"}
    assert options["bottle_mass_kg"]["unit"] == "kg" and options["bottle_mass_kg"]["default"] == [0.04, 0.09]
    assert options["w_place"]["group"] == "reward" and options["human.structure.posture"]["group"] == "person"
    assert options["physics.timestep_s"]["unit"] == "s" and options["physics.timestep_s"]["valid"]


def test_gymnasium_record_video_writes_a_playable_mp4(tmp_path: Path) -> None:
    """Gymnasium's RecordVideo needs moviepy, a dependency of the package."""
    import gymnasium as gym
    from gymnasium.wrappers import RecordVideo

    env = gym.make("embodia/Reach-v0", render_mode="rgb_array", render_size=(96, 128), render_preset="fast")
    env = RecordVideo(env, str(tmp_path / "videos"), episode_trigger=lambda _: True, disable_logger=True)
    env.reset(seed=0)
    for _ in range(10):
        env.step(env.action_space.sample())
    env.close()
    videos = list((tmp_path / "videos").glob("*.mp4"))
    assert len(videos) == 1
    with av.open(str(videos[0])) as container:
        frames = list(container.decode(video=0))
    assert len(frames) >= 10 and (frames[0].height, frames[0].width) == (96, 128)
    assert frames[-1].to_ndarray(format="rgb24").std() > 5  # a rendered scene, not a blank frame


def test_unknown_task_is_one_line_error() -> None:
    for command in (["info", "embodia/Nope-v0"], ["run", "embodia/Nope-v0", "--episodes", "1"]):
        result = embodia_cli(*command)
        assert result.returncode == 2
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr
        assert "unknown task 'embodia/Nope-v0'" in lines[0] and all(env_id in lines[0] for env_id in TASKS)


def test_run_takes_a_short_task_name_and_options_each_checked_before_anything_runs(tmp_path: Path) -> None:
    from embodia.envs.record.episode import load_episode

    out = tmp_path / "run"
    options = ["--option", "terminate_on_success=false", "--option", "episode_steps=12", "--option", "w_reach=2.5"]
    result = embodia_cli("run", "Reach", "--episodes", "1", "--no-video", "--quiet", *options, "--record", str(out))
    assert result.returncode == 0, result.stderr
    assert "embodia/Reach-v0 expert" in result.stdout and "mean length 12.0" in result.stdout  # ran to the truncation
    kwargs = json.loads((out / "meta.json").read_text())["env_kwargs"]
    assert {k: kwargs[k] for k in ("terminate_on_success", "episode_steps", "w_reach")} == {
        "terminate_on_success": False, "episode_steps": 12, "w_reach": 2.5}  # fmt: skip
    assert load_episode(next(out.glob("episode_*.npz"))).length == 12
    for option, message in [
        ("episode_steps=0", "--option: episode_steps=0 is out of range; valid: 1 to "),
        ("gripper_colour=red", "--option: unknown option(s) gripper_colour for Reach; valid: "),
        ("episode_steps", "expected NAME=VALUE such as terminate_on_success=false, got 'episode_steps'"),
    ]:
        result = embodia_cli("run", "Reach", "--episodes", "1", "--option", option, "--record", str(tmp_path / "no"))
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and message in lines[-1] and "Traceback" not in result.stderr, result.stderr
        assert not (tmp_path / "no").exists()


def test_run_records_episodes_videos_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "run"
    command = ["run", ENV_ID, "--policy", "expert", "--episodes", "2", "--num-envs", "2", "--record", str(out)]
    result = embodia_cli(*command, *FAST_VIDEO)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "success rate 100.0% (2/2)" in lines[0]
    assert lines[-1] == f"output: {out.resolve()}"

    summary = json.loads((out / "summary.json").read_text())
    assert summary["success_rate"] == 1.0 and summary["episodes"] == 2
    assert [e["seed"] for e in summary["per_episode"]] == [0, 1]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["env_id"] == ENV_ID and meta["policy"] == "expert" and meta["seed"] == 0
    assert (out / "scene.xml").read_text().startswith("<mujoco")
    for k, row in enumerate(summary["per_episode"]):
        stem = out / f"episode_{k:04d}"
        recorded = json.loads(stem.with_suffix(".json").read_text())
        assert {k: recorded[k] for k in row} == row  # the recorder's figures agree with the run's own tally
        assert recorded["env_id"] == ENV_ID and recorded["video"] == stem.with_suffix(".mp4").name
        episode = load_episode(stem.with_suffix(".npz"))
        assert episode.length == row["length"] and episode.info["success"][-1]
        assert episode.rewards.sum() == pytest.approx(row["return"], rel=1e-12)
        assert episode.metadata["seed"] == row["seed"] and episode.metadata["control_hz"] == 20.0
        with av.open(str(stem.with_suffix(".mp4"))) as container:
            frames = list(container.decode(video=0))
        assert len(frames) == row["length"] + 1 and (frames[0].height, frames[0].width) == (64, 80)

    # a second run into the same folder is refused, then allowed with --overwrite
    again = embodia_cli("run", ENV_ID, "--episodes", "1", "--record", str(out), "--no-video", "--quiet")
    assert again.returncode == 2 and "already holds a recorded run" in again.stderr
    assert "Traceback" not in again.stderr
    again = embodia_cli("run", ENV_ID, "--episodes", "1", "--record", str(out), "--no-video", "--quiet", "--overwrite")
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "episode_0000.json", "episode_0000.npz", "meta.json", "scene.xml", "summary.json",
    ]  # fmt: skip


def test_results_do_not_depend_on_num_envs(tmp_path: Path) -> None:
    summaries = []
    for num_envs in ("1", "2"):
        out = tmp_path / f"n{num_envs}"
        command = ["run", ENV_ID, "--episodes", "3", "--seed", "5", "--num-envs", num_envs, "--record", str(out)]
        result = embodia_cli(*command, "--no-video", "--quiet")
        assert result.returncode == 0, result.stderr
        summaries.append(json.loads((out / "summary.json").read_text()))
    per_episode = [s["per_episode"] for s in summaries]
    assert per_episode[0] == per_episode[1]  # same seeds, bit-identical returns and lengths
    assert [e["seed"] for e in per_episode[0]] == [5, 6, 7]


@pytest.mark.parametrize("num_envs", [1, 3])
def test_random_policy_is_seeded_per_episode(num_envs: int) -> None:
    reference = run_episodes(ENV_ID, "random", episodes=3, seed=2, num_envs=2, progress=False)
    summary = run_episodes(ENV_ID, "random", episodes=3, seed=2, num_envs=num_envs, progress=False)
    assert summary["per_episode"] == reference["per_episode"]
    assert summary["success_rate"] == 0.0 and summary["mean_length"] == 200


def test_run_episodes_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="valid: embodia/BinPicking-v0"):
        run_episodes("embodia/Nope-v0", episodes=1, progress=False)
    with pytest.raises(ValueError, match="unknown policy"):
        run_episodes(ENV_ID, "dance", episodes=1, progress=False)
    with pytest.raises(ValueError, match="unknown camera 'ceiling'"):
        run_episodes(ENV_ID, episodes=1, record_dir=tmp_path, render_camera="ceiling", progress=False)


@pytest.mark.parametrize(
    "command",
    [
        ["run", "embodia/Reach-v0", "--episodes", "1", "--record", "{out}"],
        ["collect", "embodia/Reach-v0", "--episodes", "1", "--out", "embodia/reach-bad-seed-v0"],
        ["train", "embodia/Reach-v0", "--algo", "ppo", "--steps", "64", "--out", "{out}"],
        ["eval", "{out}", "--episodes", "1"],
        ["teleop", "embodia/Reach-v0", "--out", "{out}"],
        ["dataset", "validate", "{out}"],
    ],
)
def test_a_negative_seed_is_a_usage_error_before_anything_is_made(
    tmp_path: Path, capsys: pytest.CaptureFixture, command: list[str]
) -> None:
    """Every ``--seed`` is parsed as a seed: refused in one line with its value (exit 2), no folder made."""
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main([part.format(out=out) for part in command] + ["--seed", "-1"])
    assert exit_info.value.code == 2
    assert "a seed is 0 or more, got -1" in capsys.readouterr().err
    assert not out.exists()


def test_library_runs_refuse_a_bad_first_seed_before_making_files(tmp_path: Path) -> None:
    from embodia.agents.learn.collect import collect_demonstrations
    from embodia.agents.learn.config import load_config
    from embodia.agents.learn.train import train

    for seed, error in ((-1, ValueError), (None, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="seed="):
            run_episodes("embodia/Reach-v0", episodes=1, seed=seed, record_dir=tmp_path / "run", progress=False)
        with pytest.raises(error, match="seed="):
            collect_demonstrations("embodia/Reach-v0", 1, tmp_path / "demos", seed=seed)
        with pytest.raises(error, match="seed="):
            train("embodia/Reach-v0", "ppo", load_config(None, {"total_steps": 64}), seed, tmp_path / "train")
    assert not any(tmp_path.iterdir())
