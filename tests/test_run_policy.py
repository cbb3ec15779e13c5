"""``embodia run TASK --policy RUN``: a policy trained by ``embodia train`` runs and records; bad paths, another
task and another observation layout are one line; a policy file is read without unpickling arbitrary objects.

The policies are trained for seconds on Reach: a BC run (policy.zip) and a SAC run cut short (a checkpoint only).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("yaml")

from embodia.agents.learn import train as training
from embodia.agents.learn.config import TrainConfig
from embodia.cli import main
from embodia.envs.record.episode import load_episode

REACH = "embodia/Reach-v0"
FAST_VIDEO = ["--render-size", "64x80", "--render-preset", "fast"]


@pytest.fixture(scope="module")
def bc_run(tmp_path_factory) -> Path:
    """A BC policy on Reach from 4 expert demos, 3 epochs (about 10 s)."""
    root = tmp_path_factory.mktemp("bc")
    demos = root / "demos"
    assert main(["run", REACH, "--episodes", "4", "--num-envs", "4", "--no-video", "--quiet", "--record",
                 str(demos)]) == 0  # fmt: skip
    config = TrainConfig(demos=str(demos), demo_episodes=4, net_arch=[16, 16], bc_epochs=3, bc_patience=3,
                         eval_episodes=1, final_eval_episodes=1)  # fmt: skip
    training.train(REACH, "bc", config, 0, root / "run", progress=False)
    return root / "run"


@pytest.fixture(scope="module")
def sac_run(tmp_path_factory) -> Path:
    """A SAC run on Reach stopped after its first checkpoint: a checkpoint, no policy.zip."""
    run = tmp_path_factory.mktemp("sac") / "run"
    config = TrainConfig(total_steps=10_000, num_envs=4, net_arch=[16, 16], learning_starts=16, batch_size=16,
                         checkpoint_every=32, eval_every=10_000, eval_episodes=1,
                         env_kwargs={"episode_steps": 10})  # fmt: skip
    training.train(REACH, "sac", config, 0, run, progress=False, stop_after_steps=32)
    assert not (run / "policy.zip").exists() and training.latest_checkpoint(run) is not None
    return run


def one_line_error(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("embodia: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_trained_policy_runs_and_its_episodes_name_it(bc_run: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "rec"
    command = ["run", REACH, "--policy", str(bc_run), "--episodes", "2", "--record", str(out), "--quiet"]
    assert main([*command, *FAST_VIDEO]) == 0
    captured = capsys.readouterr()
    assert "code-equivalent" in captured.err and str(bc_run / "policy.zip") in captured.err  # the warning
    model_file = str((bc_run / "policy.zip").resolve())
    assert f"bc ({model_file})" in captured.out
    episodes = sorted(out.glob("episode_*.npz"))
    assert len(episodes) == 2 and len(list(out.glob("episode_*.mp4"))) == 2
    for path in episodes:
        episode = load_episode(path)
        assert episode.metadata["policy"] == f"bc ({model_file})"
        assert episode.metadata["env_kwargs"]["obs_mode"] == "flat"  # the run's env options, recorded for replay
        assert episode.terminated[-1] or episode.truncated[-1]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["policy_path"] == model_file and meta["policy_run_dir"] == str(bc_run.resolve())
    assert meta["policy_algo"] == "bc"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["episodes"] == 2 and "interrupted" not in summary


def test_the_policy_file_and_a_checkpoint_load_too(bc_run: Path, sac_run: Path, capsys) -> None:
    assert main(["run", REACH, "--policy", str(bc_run / "policy.zip"), "--episodes", "1", "--quiet"]) == 0
    checkpoint = training.latest_checkpoint(sac_run)
    for policy in (checkpoint, sac_run):  # a run folder without policy.zip: its latest checkpoint
        assert main(["run", REACH, "--policy", str(policy), "--episodes", "1", "--quiet"]) == 0
        assert f"sac ({checkpoint.resolve()})" in capsys.readouterr().out


def test_bad_paths_another_task_and_another_layout_are_one_line(bc_run: Path, tmp_path: Path, capsys) -> None:
    assert main(["run", REACH, "--policy", str(tmp_path / "missing"), "--episodes", "1"]) == 2
    assert "is neither expert, random nor an existing run folder" in one_line_error(capsys)
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["run", REACH, "--policy", str(tmp_path / "notes.txt"), "--episodes", "1"]) == 2
    assert "is not a policy file" in one_line_error(capsys)
    assert main(["run", REACH, "--policy", str(tmp_path), "--episodes", "1"]) == 2
    assert "is not a training run folder (no run.json)" in one_line_error(capsys)

    assert main(["run", "embodia/BinPicking-v0", "--policy", str(bc_run), "--episodes", "1"]) == 2
    line = one_line_error(capsys)
    assert "was trained on embodia/Reach-v0, not on embodia/BinPicking-v0" in line

    other = tmp_path / "other_layout"
    shutil.copytree(bc_run, other)
    record = json.loads((other / "run.json").read_text())
    record["env_kwargs"] = {**record["env_kwargs"], "force_torque": True}  # 6 more observation values now
    (other / "run.json").write_text(json.dumps(record))
    assert main(["run", REACH, "--policy", str(other), "--episodes", "1"]) == 2
    assert "another observation layout" in one_line_error(capsys)

    damaged = tmp_path / "damaged"
    shutil.copytree(bc_run, damaged)
    (damaged / "policy.zip").write_bytes(b"not a policy")
    assert main(["run", REACH, "--policy", str(damaged), "--episodes", "1"]) == 2
    assert "cannot be loaded as a policy file" in one_line_error(capsys)


class RunsCode:
    """What a hostile policy file could hold: unpickling it would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_a_policy_file_that_would_run_code_is_refused_without_running_it(bc_run: Path, tmp_path: Path, capsys):
    import torch

    hostile = tmp_path / "hostile"
    shutil.copytree(bc_run, hostile)
    marker = tmp_path / "ran"
    torch.save({"data": {"observation_space": RunsCode(marker)}, "state_dict": {}}, hostile / "policy.zip")
    assert main(["run", REACH, "--policy", str(hostile), "--episodes", "1"]) == 2
    assert "holds something a policy file does not" in one_line_error(capsys)
    assert not marker.exists()
    record = json.loads((hostile / "run.json").read_text())
    record["policy_class"] = "os:system"
    (hostile / "run.json").write_text(json.dumps(record))
    assert main(["run", REACH, "--policy", str(hostile), "--episodes", "1"]) == 2
    assert "which embodia does not load" in one_line_error(capsys)


def test_eval_takes_the_same_paths(sac_run: Path, tmp_path: Path, capsys) -> None:
    checkpoint = training.latest_checkpoint(sac_run)
    out = tmp_path / "eval"
    assert main(["eval", str(checkpoint), "--episodes", "2", "--num-envs", "2", "--record", str(out), "--no-video",
                 "--quiet"]) == 0  # fmt: skip
    assert "can run code" in capsys.readouterr().err
    assert json.loads((out / "meta.json").read_text())["policy_path"] == str(checkpoint.resolve())
    assert len(list(out.glob("episode_*.npz"))) == 2
