"""The learning grid as Ray tasks (``embodia.agents.learn.sweep``), on Ray started embedded: the same results as
one process, a trial whose worker is killed resumes from its checkpoint, a finished sweep is not trained again."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("ray")
pytest.importorskip("stable_baselines3")

from process_support import KillWhenReady

from embodia.agents.learn.config import TrainConfig
from embodia.agents.learn.sweep import Trial, run_trials

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
# one small gradient step per update: what is tested is where the trials run and resume, not what they learn
TINY = TrainConfig(total_steps=300, learning_starts=50, net_arch=[16, 16], eval_every=100, eval_episodes=2,
                   final_eval_episodes=2, checkpoint_every=100, num_envs=2, gradient_steps=1,
                   batch_size=32)  # fmt: skip


def trials(runs: Path, config: TrainConfig = TINY, seeds: tuple[int, ...] = (0, 1)) -> list[Trial]:
    return [Trial("embodia/Reach-v0", "sac", config, seed, runs / f"Reach-sac-s{seed}") for seed in seeds]


def without_wall_clock(run_dir: Path) -> tuple[dict, list[list[str]]]:
    result = json.loads((run_dir / "eval.json").read_text())
    result.pop("train_wall_s")
    curve = [line.split(",") for line in (run_dir / "curve.csv").read_text().splitlines()]
    return result, [[row[0], *row[2:]] for row in curve]  # column 1 is the wall-clock


def test_trials_on_two_ray_workers_give_the_results_of_one_process(tmp_path) -> None:
    alone = run_trials(trials(tmp_path / "alone"))
    finished: list[str] = []
    spread = run_trials(trials(tmp_path / "spread"), workers=2, on_result=lambda trial, _: finished.append(trial.name))
    assert sorted(finished) == ["Reach-sac-s0", "Reach-sac-s1"]
    assert [r["status"] for r in spread] == ["trained", "trained"]
    for seed, (one, other) in enumerate(zip(alone, spread, strict=True)):
        name = f"Reach-sac-s{seed}"
        assert without_wall_clock(tmp_path / "alone" / name) == without_wall_clock(tmp_path / "spread" / name)
        assert one["success"] == other["success"] and one["mean_return"] == other["mean_return"]
    again = run_trials(trials(tmp_path / "spread"), workers=2)
    assert [r["status"] for r in again] == ["done already", "done already"]


def test_a_trial_whose_worker_is_killed_resumes_from_its_checkpoint(tmp_path) -> None:
    config = replace(TINY, total_steps=2400, checkpoint_every=400, eval_every=800)
    (trial,) = trials(tmp_path, config, seeds=(0,))
    checkpointed = lambda: any((trial.run_dir / "checkpoints").glob("model_*.zip"))  # noqa: E731
    # Ray's workers run niced: on a loaded machine they wait
    with KillWhenReady("ray::train_trial", checkpointed, timeout_s=600) as killer:
        result = run_trials([trial], workers=1)[0]
    assert killer.killed is not None, "the trial finished before its worker could be killed"
    assert result["status"] == "resumed" and result["env_steps"] >= 2400
    steps = [int(line.split(",")[0]) for line in (trial.run_dir / "curve.csv").read_text().splitlines()[1:]]
    assert steps == sorted(set(steps)) and steps[-1] >= 2400  # each evaluation point once, the run to its end


def test_trials_sharing_a_folder_and_bad_workers_are_refused(tmp_path) -> None:
    (trial,) = trials(tmp_path, seeds=(0,))
    with pytest.raises(ValueError, match="trials share a run folder: Reach-sac-s0"):
        run_trials([trial, replace(trial, seed=1)])
    with pytest.raises(ValueError, match="workers must be at least 1, got 0"):
        run_trials([trial], workers=0)
    for args, message in [
        (["--workers", "0"], "--workers must be at least 1, got 0"),
        (["--ray-address", "127.0.0.1:1"], "--ray-address needs --workers N"),
    ]:
        result = subprocess.run(
            [sys.executable, str(EXPERIMENTS / "learning_suite.py"), "--tasks", "Reach", *args],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 2 and message in result.stderr, result.stderr
