"""What ``embodia train`` shows and leaves besides the policy: the progress bar's loss and success, ``curve.png``
and BC's TensorBoard scalars (tiny real runs on Reach, seconds each)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("yaml")
pytest.importorskip("tensorboard")
pytest.importorskip("matplotlib")

from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from embodia.agents.evaluate import run_episodes
from embodia.agents.learn import train as training
from embodia.agents.learn.config import TrainConfig
from embodia.agents.learn.progress import Progress, postfix
from embodia.cli import main

REACH = "embodia/Reach-v0"
SHORT = {"episode_steps": 15}
TINY_BC = dict(net_arch=[16, 16], bc_epochs=4, bc_patience=4, eval_episodes=2, final_eval_episodes=2)


@pytest.fixture(scope="module")
def demos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reach_demos")
    run_episodes(REACH, "expert", 4, seed=0, num_envs=4, record_dir=folder, progress=False, video=False)
    return folder


def assert_a_drawn_png(path: Path) -> None:
    """A PNG a real decoder reads, with something drawn on it (not one colour)."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert (pixels != pixels[0, 0]).any(axis=-1).mean() > 0.01


def scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(log_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def printed_tensorboard_folder(out: str) -> Path:
    """The folder the CLI tells the user to open in TensorBoard; it must exist and hold event files."""
    folder = Path(re.search(r"\(tensorboard --logdir (.+)\)", out)[1])
    assert folder.is_dir() and list(folder.rglob("events.out.tfevents.*")), folder
    return folder


def test_the_postfix_shows_loss_and_the_last_evaluated_success():
    assert postfix() == ""
    assert postfix(0.42) == "success 42%"
    assert postfix(1.0, loss=0.01234, holdout=0.0150) == "loss 0.0123, held-out 0.015, success 100%"
    bar = Progress(total=10, enabled=False, label="x", success=0.25)
    assert bar.success == 0.25  # a resumed run starts from its curve's last row
    bar.evaluated({"success_rate": 0.5, "mean_return": 1.0})
    assert postfix(bar.success) == "success 50%"


def test_bc_writes_its_curve_and_tensorboard_and_shows_loss_and_success(tmp_path, demos, capfd):
    config = tmp_path / "bc.yaml"
    config.write_text(f"demos: {demos}\ndemo_episodes: 4\n" + "".join(f"{k}: {v}\n" for k, v in TINY_BC.items()))
    run = tmp_path / "run"
    assert main(["train", REACH, "--algo", "bc", "--config", str(config), "--out", str(run)]) == 0
    captured = capfd.readouterr()
    final_bar = captured.err.replace("\r", "\n").strip().splitlines()[-1]
    assert re.search(r"loss [0-9.e-]+, held-out [0-9.e-]+, success \d+%", final_bar), final_bar
    assert f"learning curve: {run / 'curve.png'}" in captured.out
    assert printed_tensorboard_folder(captured.out) == run / "tb"
    assert_a_drawn_png(run / "curve.png")

    epochs = len(json.loads((run / "run.json").read_text())["bc"]["train_loss"])
    logged = scalars(run / "tb" / "bc")
    assert [step for step, _ in logged["bc/train_loss"]] == list(range(epochs))
    assert len(logged["bc/holdout_loss"]) == epochs
    success = json.loads((run / "eval.json").read_text())["success_rate"]
    assert logged["eval/success_rate"] == [(0, pytest.approx(success))]


def test_dagger_plots_its_rounds_and_logs_their_validation(tmp_path, demos):
    config = TrainConfig(demos=str(demos), demo_episodes=4, dagger_rounds=1, dagger_episodes=2, env_kwargs=SHORT,
                         **TINY_BC)  # fmt: skip
    training.train(REACH, "bc", config, 0, tmp_path, progress=False)
    assert_a_drawn_png(tmp_path / "curve.png")
    logged = scalars(tmp_path / "tb" / "bc")
    assert [step for step, _ in logged["dagger/validation_success"]] == [0, 1]
    assert len(logged["bc/train_loss"]) >= 2 and "eval/success_rate" in logged  # both rounds' epochs, counted on


def test_rl_shows_the_evaluated_success_and_plots_its_curve(tmp_path, capfd):
    config = tmp_path / "sac.yaml"
    config.write_text(
        "total_steps: 200\nnum_envs: 4\nnet_arch: [16, 16]\nbatch_size: 32\nlearning_starts: 40\neval_every: 100\n"
        "checkpoint_every: 200\neval_episodes: 2\nfinal_eval_episodes: 2\nenv_kwargs: {episode_steps: 15}\n"
    )
    run = tmp_path / "run"
    assert main(["train", REACH, "--algo", "sac", "--config", str(config), "--out", str(run)]) == 0
    captured = capfd.readouterr()
    final_bar = captured.err.replace("\r", "\n").strip().splitlines()[-1]
    assert re.search(r"200/200 .*success \d+%", final_bar), final_bar
    assert printed_tensorboard_folder(captured.out) == run / "tb"
    assert [row["env_steps"] for row in training.read_curve(run)] == [0, 100, 200]
    assert_a_drawn_png(run / "curve.png")


def test_the_policy_probe_reports_each_episode_and_the_clipped_inputs(tmp_path):
    """experiments/policy_probe.py on a PPO run of seconds with running normalisation: a line per held-out episode
    with its distance to the goal, and the clip count over every step (Reach reports no lift)."""
    import subprocess
    import sys

    config = TrainConfig(total_steps=256, n_steps=32, num_envs=4, net_arch=[16, 16], eval_every=10_000, eval_episodes=2,
                         final_eval_episodes=2, obs_mode="dict", running_normalization=True)  # fmt: skip
    training.train(REACH, "ppo", config, 0, tmp_path / "run", progress=False)
    script = Path(__file__).resolve().parent.parent / "experiments" / "policy_probe.py"
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "run"), "--episodes", "3",
                             "--goal-entry", "task_target_to_tcp", "--near", "2"], capture_output=True, text=True,
                            timeout=300, stdin=subprocess.DEVNULL)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("embodia/Reach-v0") and "task_target_to_tcp closest / at the end" in lines[1]
    assert [line.split(":")[0].strip() for line in lines[2:5]] == ["1000000", "1000001", "1000002"]
    assert re.search(r"inputs at the clip \(10 std\) in the \d+ steps", result.stdout)
    # every step is within 2 m of the goal: the gripper's unclipped Gaussian mean in each, PPO's noise beside it
    assert re.search(r"the gripper's action mean in the \d+ steps within 200 cm of the goal: -?\d\.\d\d / .*% past "
                     r"the \[-1, 1\] bound; noise std \d\.\d\d", result.stdout), result.stdout  # fmt: skip
