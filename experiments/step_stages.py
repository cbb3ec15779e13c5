"""Where an env's step goes: microseconds per step in each stage, so that a regression shows by stage.

    python experiments/step_stages.py                         # every task, the single env
    python experiments/step_stages.py --tasks Handover Feeding --steps 3000
    python experiments/step_stages.py --num-envs 64 --steps 400   # the vector env, its autoresets counted

``experiments/benchmark.py`` prints the same table. Each stage's method is timed on the env's own instance (a
wrapper around the bound method: about 0.2 µs per call, included); resets are not counted. Stages:
physics (``sim.step``: the substeps through ``mujoco.batch``), control (``controller.apply``: the action to
joint targets), person (``task.before_physics``: the person's motion and the task's actuation), evaluate
(``task.evaluate``: success, failure and the figures rewards use; the safety monitor runs inside it and is also
shown alone), reward (``task.reward_terms``), observe (``_observe``), info (``_info``), and the rest: the action
check, Gymnasium's wrappers (``gymnasium.make``'s order enforcing and time limit) and the single env's
unbatching of the observation and info. "Beyond physics" is every stage but physics over physics: the ratio
``benchmark.py``'s overhead figure measures against a raw ``mj_step`` loop.

With ``--num-envs n`` > 1 the env is ``gymnasium.make_vec`` (n simulations in one batch, on the batch's threads)
and the times are per vector step. Its same-step autoresets are part of its step, so they are counted, as one
more stage (reset: everything ``reset`` runs, the stages it calls included): the 64-simulation figure of
``benchmark.py`` (vector@64 / raw) is a ratio of whole steps, resets and all.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

import embodia  # noqa: F401  (registers the tasks; selects the OpenGL backend)
from embodia.commands.common import positive_int, task_id_arg

#: (label, owner path from the BatchedEnv, method name); the owner path "" is the BatchedEnv itself
STAGES = (
    ("physics", "sim", "step"),
    ("control", "controller", "apply"),
    ("person", "task", "before_physics"),
    ("evaluate", "task", "evaluate"),
    ("safety monitor", "task.person.monitor", "measure"),
    ("reward", "task", "reward_terms"),
    ("observe", "", "_observe"),
    ("info", "", "_info"),
)
#: stages timed inside another stage: shown, but not subtracted again from the rest
NESTED = {"safety monitor"}


def _owner(core: Any, path: str) -> Any | None:
    owner = core
    for name in filter(None, path.split(".")):
        owner = getattr(owner, name, None)
        if owner is None:
            return None
    return owner


def stage_times(env_id: str, steps: int = 2000, seed: int = 0, num_envs: int = 1) -> dict[str, float]:
    """Microseconds per env step of each stage (and ``total``, ``rest``, ``beyond_physics``) over ``steps``
    random-action steps of ``gymnasium.make(env_id)``, or with ``num_envs`` > 1 of ``gymnasium.make_vec`` (then
    per vector step, with a ``reset`` stage: its autoresets)."""
    if num_envs < 1:
        raise ValueError(f"num_envs={num_envs!r} is not valid; valid: 1 (the single env) or more (the vector env)")
    vector = num_envs > 1
    env = gym.make_vec(env_id, num_envs=num_envs) if vector else gym.make(env_id)
    core = env.unwrapped.core
    clock = dict.fromkeys([label for label, _, _ in STAGES], 0.0)
    if vector:
        clock["reset"] = 0.0
        reset = core.reset

        def timed_reset(*args: Any, **kwargs: Any) -> Any:
            before, start = dict(clock), time.perf_counter()
            try:
                return reset(*args, **kwargs)
            finally:
                clock.update(before)  # the stages a reset runs are the reset's
                clock["reset"] += time.perf_counter() - start

        core.reset = timed_reset
    for label, path, name in STAGES:
        owner = _owner(core, path)
        if owner is None or not hasattr(owner, name):
            clock.pop(label)
            continue
        method = getattr(owner, name)

        def timed(*args: Any, _method: Callable = method, _label: str = label, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                clock[_label] += time.perf_counter() - start

        setattr(owner, name, timed)
    try:
        env.reset(seed=seed)
        actions = np.random.default_rng(seed).uniform(-1, 1, (256, *env.action_space.shape)).astype(np.float32)
        for k in range(50):  # warm-up
            _, _, terminated, truncated, _ = env.step(actions[k % 256])
            if not vector and (terminated or truncated):
                env.reset()
        for label in clock:
            clock[label] = 0.0
        total = 0.0
        for k in range(steps):
            start = time.perf_counter()
            _, _, terminated, truncated, _ = env.step(actions[k % 256])
            total += time.perf_counter() - start
            if not vector and (terminated or truncated):
                before = dict(clock)
                env.reset()
                clock.update(before)  # the single env's resets are not counted
    finally:
        env.close()
    times = {label: seconds / steps * 1e6 for label, seconds in clock.items()}
    times["total"] = total / steps * 1e6
    times["rest"] = times["total"] - sum(v for k, v in times.items() if k not in NESTED and k != "total")
    times["beyond_physics"] = (times["total"] - times["physics"]) / times["physics"]
    return times


def table(results: dict[str, dict[str, float]]) -> list[str]:
    """Markdown: a row per task, µs per step per stage, and the beyond-physics ratio."""
    labels = [label for label, _, _ in STAGES] + ["rest"]
    if any("reset" in times for times in results.values()):
        labels.insert(-1, "reset")
    lines = [
        "| task | total µs | " + " | ".join(labels) + " | beyond physics |",
        "|---|---:|" + "---:|" * len(labels) + "---:|",
    ]
    for env_id, times in results.items():
        cells = [f"{times[label]:.0f}" if label in times else "-" for label in labels]
        lines.append(
            f"| {env_id} | {times['total']:.0f} | " + " | ".join(cells) + f" | {times['beyond_physics']:.2f} |"
        )
    return lines


def main() -> None:
    from embodia.envs.tasks.registry import TASKS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", type=task_id_arg, help="task names or ids (default: every task)")
    parser.add_argument("--steps", type=positive_int, default=2000)
    parser.add_argument("--num-envs", type=positive_int, default=1, help="> 1: the vector env of that many simulations")
    args = parser.parse_args()
    os.environ.setdefault("MUJOCO_GL", "egl")
    env_ids = args.tasks or list(TASKS)
    which = "single-env step" if args.num_envs == 1 else f"step of the {args.num_envs}-simulation vector env"
    print(f"microseconds per {which}, {args.steps} random-action steps; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")  # fmt: skip
    print("\n".join(table({env_id: stage_times(env_id, args.steps, num_envs=args.num_envs) for env_id in env_ids})))


if __name__ == "__main__":
    main()
