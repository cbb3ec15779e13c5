"""Ctrl-C (SIGINT) and SIGTERM stop a run cleanly: real subprocesses, real signals, real files.

``embodia run --record`` stopped mid-run exits with 128 + the signal number (130, 143), prints one line and no
traceback, keeps every finished episode intact, drops the episodes in flight with their temporary files, and writes
a valid ``summary.json`` that says which signal stopped it. ``embodia train`` stops with one line as well.
"""

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
from process_support import sigint_as_in_a_terminal

import embodia  # noqa: F401  (selects the GL backend before mujoco loads)
from embodia.envs.core.batched_env import make_batched
from embodia.envs.record.episode import load_episode
from embodia.envs.record.recorder import EpisodeRecorder, Interrupted, interrupt_exit_status, stop_on_signals

ENV_ID = "embodia/BinPicking-v0"
REACH = "embodia/Reach-v0"


def start_and_stop(command: list[str], ready, signum: int, timeout_s: float = 180) -> subprocess.CompletedProcess:
    """Start ``embodia COMMAND``, send ``signum`` once ``ready()`` holds, and wait for it to exit."""
    process = subprocess.Popen([sys.executable, "-m", "embodia.cli", *command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=sigint_as_in_a_terminal)  # fmt: skip
    try:
        deadline = time.monotonic() + timeout_s
        while not ready():
            if process.poll() is not None:
                raise AssertionError(f"it exited ({process.returncode}) before the signal: {process.stderr.read()}")
            assert time.monotonic() < deadline, "it never got ready for the signal"
            time.sleep(0.02)
        assert process.poll() is None, "it finished before the signal"
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


EPISODES = 64


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stopped_run_keeps_finished_episodes_and_writes_its_summary(signum: int, tmp_path: Path) -> None:
    out = tmp_path / "run"
    # many more episodes than run before the signal: on a loaded machine 8 could all finish in the gap
    command = ["run", ENV_ID, "--episodes", str(EPISODES), "--num-envs", "2", "--record", str(out)]
    command += ["--render-size", "64x80", "--render-preset", "fast", "--quiet"]
    result = start_and_stop(command, lambda: bool(list(out.glob("episode_*.npz"))), signum)

    name = signal.Signals(signum).name
    assert result.returncode == 128 + signum, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == f"embodia: stopped by {name}; finished episodes and summary.json are in {out}"
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".") or ".tmp" in p.name]
    assert leftovers == []  # the episodes in flight went with their temporary files
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] == name and summary["env_id"] == ENV_ID
    episodes = sorted(out.glob("episode_*.npz"))
    assert 1 <= len(episodes) < EPISODES and summary["episodes"] == len(episodes)
    assert summary["incomplete_episodes_dropped"] >= 1
    assert sorted(e["episode"] for e in summary["per_episode"]) == sorted(int(p.stem.split("_")[1]) for p in episodes)
    for path in episodes:
        episode = load_episode(path)
        assert episode.terminated[-1] or episode.truncated[-1]  # complete, not cut short
        assert json.loads(path.with_suffix(".json").read_text())["length"] == episode.length
        with av.open(str(path.with_suffix(".mp4"))) as container:
            assert len(list(container.decode(video=0))) == episode.length + 1
    assert sorted(p.stem for p in out.glob("episode_*.mp4")) == [p.stem for p in episodes]


def test_a_stopped_training_run_says_how_to_resume(tmp_path: Path) -> None:
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("yaml")
    run = tmp_path / "train"
    config = tmp_path / "sac.yaml"
    config.write_text(
        "total_steps: 100000\nnum_envs: 4\nnet_arch: [16, 16]\nlearning_starts: 16\nbatch_size: 16\n"
        "checkpoint_every: 64\neval_every: 100000\neval_episodes: 1\nenv_kwargs: {episode_steps: 10}\n"
    )
    command = ["train", REACH, "--algo", "sac", "--config", str(config), "--out", str(run), "--quiet"]
    result = start_and_stop(command, lambda: bool(list(run.glob("checkpoints/progress_*.json"))), signal.SIGTERM)
    assert result.returncode == 143, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"embodia: stopped by SIGTERM; {run} keeps its last checkpoint, continue with: embodia train "
                     f"... --out {run} --resume"]  # fmt: skip


def test_stop_on_signals_raises_once_then_restores_the_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as caught, stop_on_signals():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises here
        finally:
            os.kill(os.getpid(), signal.SIGTERM)  # a second one, while winding down: ignored
            time.sleep(0.05)
    assert caught.value.signum == signal.SIGTERM and interrupt_exit_status(caught.value) == 143
    assert interrupt_exit_status(KeyboardInterrupt()) == 130
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_signal_during_close_waits_until_the_summary_is_written(tmp_path: Path) -> None:
    env = make_batched(REACH, 1)
    recorder = EpisodeRecorder(env, tmp_path / "run", REACH)
    env.reset(seeds=[0])
    for _ in range(3):
        env.step(np.zeros((1, env.controller.action_dim)))
    collect = recorder._collect_writes

    def signalled_collect(wait: bool) -> None:  # SIGTERM arrives in the middle of close
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        collect(wait)

    recorder._collect_writes = signalled_collect
    with pytest.raises(Interrupted), stop_on_signals():
        recorder.close()
        time.sleep(5)  # delivered once close is done, not before
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["incomplete_episodes_dropped"] == 1 and summary["episodes"] == 0
    env.close()


def test_a_stopped_collect_writes_no_dataset_and_leaves_no_staging(tmp_path: Path) -> None:
    datasets = tmp_path / "minari"
    env = {**os.environ, "MINARI_DATASETS_PATH": str(datasets)}
    command = [sys.executable, "-m", "embodia.cli", "collect", ENV_ID, "--episodes", "40", "--num-envs", "2"]
    command += ["--out", "embodia/stopped/expert-v0", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               preexec_fn=sigint_as_in_a_terminal)  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while not list(datasets.glob("**/episode_*.npz")):  # the staging folder fills as episodes finish
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143 and "Traceback" not in stderr, stderr
    assert stderr.strip().startswith("embodia: stopped by SIGTERM; no dataset written")
    assert [p for p in datasets.rglob("*") if not p.is_dir()] == []  # no staging files, no partial dataset
