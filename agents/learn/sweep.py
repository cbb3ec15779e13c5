"""A sweep of training runs (tasks x methods x seeds), each into its own folder: in this process, or as Ray tasks.

Why a run is the unit: its folder is its whole state (``run.json``, the latest checkpoint with its replay
buffer, ``curve.csv``, ``eval.json``), so training a trial is idempotent. Finished (``eval.json``): skipped.
Interrupted after a checkpoint: resumed from it. Interrupted before one: started over. That makes resuming an
interrupted sweep and Ray's retry of a trial whose worker died the same operation, and each trial's curve and
checkpoint stay where the table and the plots read them.

On Ray each trial is a task holding one CPU (training runs torch and the physics on one thread); at most
``workers`` run at once, on this machine (Ray embedded) or across the cluster at ``address``, whose nodes must see
the runs folder (a shared filesystem) and the demonstrations it reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embodia.agents.learn.config import TrainConfig

#: a trial whose worker died (killed, out of memory, its node lost) is started again this many times
TRIAL_RETRIES = 3


@dataclass(frozen=True)
class Trial:
    """One training run of the sweep: ``algo`` on ``env_id`` with ``config`` and ``seed``, into ``run_dir``."""

    env_id: str
    algo: str
    config: TrainConfig
    seed: int
    run_dir: Path

    @property
    def name(self) -> str:
        return self.run_dir.name


def train_trial(trial: Trial) -> dict[str, Any]:
    """Train one trial to its end, resuming or skipping as its folder says; its final evaluation, with
    ``status`` (``done already``, ``resumed`` or ``trained``) and ``seconds`` spent here."""
    import json

    from embodia.agents.learn.train import latest_checkpoint, train

    run_dir = Path(trial.run_dir)
    if (run_dir / "eval.json").exists():
        return {**json.loads((run_dir / "eval.json").read_text()), "status": "done already", "seconds": 0.0}
    resume = (run_dir / "run.json").exists() and latest_checkpoint(run_dir) is not None
    if (run_dir / "run.json").exists() and not resume:  # started, but no checkpoint yet: start over
        for path in sorted(run_dir.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    started = time.perf_counter()
    result = train(trial.env_id, trial.algo, trial.config, trial.seed, run_dir, resume=resume, progress=False)
    return {**result, "status": "resumed" if resume else "trained", "seconds": time.perf_counter() - started}


def run_trials(
    trials: Sequence[Trial],
    workers: int | None = None,
    address: str | None = None,
    on_result: Callable[[Trial, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train every trial; their results in the order given. ``workers=None``: one after another in this process;
    else as Ray tasks, at most ``workers`` at a time, each retried from its checkpoint if its worker dies.
    ``on_result(trial, result)`` is called as each finishes."""
    names = [trial.name for trial in trials]
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"trials share a run folder: {', '.join(twice)}; give each its own run_dir")
    if workers is None:
        results = []
        for trial in trials:
            results.append(train_trial(trial))
            if on_result is not None:
                on_result(trial, results[-1])
        return results
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    from embodia.agents.distributed import ray_session

    with ray_session(workers, address) as ray:
        remote = ray.remote(num_cpus=1, max_retries=TRIAL_RETRIES)(train_trial)
        waiting = list(range(len(trials)))
        running: dict[Any, int] = {}
        results: dict[int, dict[str, Any]] = {}
        while waiting or running:
            while waiting and len(running) < workers:
                index = waiting.pop(0)
                running[remote.remote(trials[index])] = index
            done, _ = ray.wait(list(running), num_returns=1)
            index = running.pop(done[0])
            results[index] = ray.get(done[0])
            if on_result is not None:
                on_result(trials[index], results[index])
        return [results[index] for index in range(len(trials))]
