"""Speed, rendering and memory of every registered task, printed as markdown tables beside the project's targets.

    python experiments/benchmark.py                  # full run, a few minutes
    python experiments/benchmark.py --quick          # short windows, noisier figures
    python experiments/benchmark.py --tasks embodia/BinPicking-v0 --out experiments/results/benchmark.md

Figures per task:
- single env: env steps/s of ``gymnasium.make(env_id)`` (wrappers included) with random actions, resets excluded;
- vector env: env steps/s of ``gymnasium.make_vec(env_id, num_envs=n)``, summed over the n simulations;
- raw physics: ``mujoco.mj_step`` on one MjData in a tight Python loop, and ``Batch.step`` of 64 simulations on
  1 and 2 threads, all on the task's compiled model from a reset state, in physics steps/s;
- overhead ratio: raw ``mj_step`` physics steps/s / physics steps/s delivered by the single env
  (env steps/s x substeps); 1.0 means the env costs nothing beyond the physics;
- vector@64 / raw: physics steps/s delivered by the 64-simulation vector env / the raw ``mj_step`` rate;
- reset: mean ms of the first ``env.reset(seed=k)`` calls of a new env in a new process, the person shapes they
  meet already in the on-disk cache (a process before it fills the cache);
- render: frames/s of ``BatchedEnv.render(0)`` (fast 128x128, quality 640x480); pixel obs: frames/s of 84x84
  pixel observations summed over 16 simulations of one env, step included (pixel render: the same observations
  rendered alone, no step);
- memory: resident set of a fresh process that makes one env and steps it 100 times;
- stages: microseconds per single-env step in each stage (physics, control, the person, evaluate with the safety
  monitor, reward, observe, info, the rest), so that a regression shows where (``step_stages.py``); and the same
  per step of the 64-simulation vector env, its autoresets a stage of their own (what vector@64 / raw pays);
- recording slowdown: single env steps/s without / with the ``RecordEpisodes`` wrapper writing episode files (no
  video; the file writes at episode ends are timed), minus one.

Each rate is the best of a few timed windows after a warm-up call. A busy machine lowers every figure (the load
average is printed in the header): compare runs made on a quiet machine. Progress goes to stderr, tables to stdout.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np
from fresh_process import memory_mb, reset_ms
from peers import peer_rows, peer_table
from step_stages import stage_times
from step_stages import table as stage_table

import embodia  # selects the OpenGL backend before mujoco is imported
from embodia.commands.common import task_id_arg
from embodia.envs.core.batched_env import make_batched
from embodia.envs.record.wrappers import RecordEpisodes
from embodia.envs.tasks.registry import TASKS

VECTOR_SIZES = (1, 8, 64)
BATCH_SIMS = 64
BATCH_THREADS = (1, 2)
MEMORY_STEPS = 100
FAST_RENDER = ((128, 128), "fast")  # (height, width), preset
QUALITY_RENDER = ((480, 640), "quality")
PIXEL_OBS = (16, (84, 84))  # simulations, (height, width) of obs_mode="pixels" with the fast preset
STAGE_STEPS, STAGE_STEPS_QUICK = 3000, 500  # single-env steps the stage breakdown is timed over
#: vector steps of the 64-simulation stage breakdown: two episodes' autoresets of the 200-step tasks
VECTOR_STAGE_STEPS, VECTOR_STAGE_STEPS_QUICK = 420, 60
ACTION_BANK = 256  # pre-drawn random actions, cycled, so that drawing them is not timed

# Targets: (comparison, threshold). ">=" means the figure must be at least the threshold.
TARGETS = {
    "single_env": (">=", 600.0),
    "overhead": ("<=", 1.15),  # issue 19: the env costs at most 15% beyond its own physics
    "reset_ms": ("<=", 2.0),
    "vector_vs_raw": (">=", 1.8),
    "render_fast": (">=", 200.0),
    "render_quality": (">=", 30.0),
    "pixel_obs": (">=", 500.0),
    "pixel_render": (">=", 500.0),
    "memory_mb": ("<=", 150.0),
    "recording_overhead": ("<=", 0.10),
}


@dataclass(frozen=True)
class Budget:
    """How long each figure is measured: ``repeats`` windows of at least ``window_s`` and ``min_calls`` calls."""

    window_s: float
    repeats: int
    resets: int
    quality_min_frames: int


FULL = Budget(window_s=2.0, repeats=3, resets=50, quality_min_frames=5)
QUICK = Budget(window_s=0.3, repeats=1, resets=10, quality_min_frames=2)


@dataclass
class Row:
    metric: str
    value: str
    target: str = ""
    met: bool | None = None


@dataclass
class TaskResult:
    env_id: str
    figures: dict[str, float] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    error: str | None = None
    model_info: str = ""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def describe_error(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}".strip().splitlines()[0]
    text = text.replace("|", "\\|")
    return text if len(text) <= 200 else text[:197] + "..."


def timed_rate(call: Callable[[], float], budget: Budget, min_calls: int = 3) -> float:
    """Calls per second of ``call``, which returns the seconds of its own work to count; best of the windows."""
    call()  # warm-up: first-call costs (allocation, checker wrappers, GL context) are not timed
    best = 0.0
    for _ in range(budget.repeats):
        calls, counted = 0, 0.0
        start = time.perf_counter()
        while calls < min_calls or time.perf_counter() - start < budget.window_s:
            counted += call()
            calls += 1
        best = max(best, calls / counted)
    return best


def timed(fn: Callable[[], object]) -> Callable[[], float]:
    def call() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return call


def check(name: str, value: float) -> tuple[str, bool]:
    comparison, threshold = TARGETS[name]
    met = value >= threshold if comparison == ">=" else value <= threshold
    return f"{comparison} {threshold:g}", met


# ---------------------------------------------------------------------------------------------------- measurements
def single_env_rate(env_id: str, budget: Budget, record: bool = False) -> float:
    """Env steps/s of the single env; ``record`` wraps it in ``RecordEpisodes`` (episode files, no video)."""
    env = gym.make(env_id)
    folder = tempfile.TemporaryDirectory(prefix="embodia-bench-") if record else None
    if folder is not None:
        env = RecordEpisodes(env, Path(folder.name) / "run", policy="random")
    try:
        env.reset(seed=0)
        actions = np.random.default_rng(0).uniform(-1, 1, (ACTION_BANK, *env.action_space.shape)).astype(np.float32)
        count = 0

        def call() -> float:
            nonlocal count
            start = time.perf_counter()
            _, _, terminated, truncated, _ = env.step(actions[count % ACTION_BANK])
            elapsed = time.perf_counter() - start
            count += 1
            if terminated or truncated:
                env.reset()  # not timed
            return elapsed

        return timed_rate(call, budget, min_calls=20)
    finally:
        env.close()
        if folder is not None:
            folder.cleanup()


def recording_overhead(env_id: str, budget: Budget) -> tuple[float, float]:
    """(plain, recorded) env steps/s, measured in alternation so that machine load hits both alike."""
    plain, recorded = [], []
    for _ in range(max(2, budget.repeats)):
        plain.append(single_env_rate(env_id, budget))
        recorded.append(single_env_rate(env_id, budget, record=True))
    return max(plain), max(recorded)


def vector_env_rate(env_id: str, num_envs: int, budget: Budget) -> tuple[float, int]:
    """(env steps per second summed over ``num_envs`` simulations, threads of its batch)."""
    envs = gym.make_vec(env_id, num_envs=num_envs)
    try:
        threads = envs.unwrapped.core.sim.batch.nthread
        envs.reset(seed=0)
        shape = envs.action_space.shape
        actions = np.random.default_rng(0).uniform(-1, 1, (ACTION_BANK // num_envs + 1, *shape)).astype(np.float32)
        count = 0

        def call() -> float:
            nonlocal count
            start = time.perf_counter()
            envs.step(actions[count % len(actions)])
            count += 1
            return time.perf_counter() - start

        return num_envs * timed_rate(call, budget), threads
    finally:
        envs.close()


def raw_mj_step_rate(env_id: str, budget: Budget) -> float:
    """Physics steps/s of ``mujoco.mj_step`` on one MjData in a tight Python loop, over the env's own trajectory.

    The env is first driven by the same random actions as the single-env measurement while its full state
    (controls included) is recorded at every control step; the loop then replays each recorded state and
    advances it by the control period. Raw and env thus integrate the same states with the same contacts:
    a raw loop idling at the reset pose would be cheaper physics and flatter the ratio's numerator.
    """
    import mujoco

    core = make_batched(env_id, 1)
    try:
        core.reset(seeds=[0])
        actions = np.random.default_rng(0).uniform(-1, 1, (ACTION_BANK, core.controller.action_dim))
        spec = mujoco.mjtState.mjSTATE_INTEGRATION
        states = []
        for action in actions:
            core.controller.apply(core.sim, core.validate_action(action[None]))
            states.append(core.sim.state(0))
            _, _, terminated, truncated, _ = core.step(action[None])
            if terminated[0] or truncated[0]:
                core.reset(ids=[0])
        model, data = core.sim.batch.get_model(0), mujoco.MjData(core.model)
        substeps, mj_step, set_state = core.sim.substeps, mujoco.mj_step, mujoco.mj_setState
        count = 0

        def call() -> float:
            nonlocal count
            set_state(model, data, states[count % len(states)], spec)
            count += 1
            start = time.perf_counter()
            for _ in range(substeps):
                mj_step(model, data)
            return time.perf_counter() - start

        return substeps * timed_rate(call, budget, min_calls=20)
    finally:
        core.close()


def raw_batch_rate(env_id: str, num_threads: int, budget: Budget) -> float:
    """Physics steps/s summed over ``BATCH_SIMS`` simulations of ``Batch.step(nstep=substeps)``."""
    core = make_batched(env_id, BATCH_SIMS, num_threads=num_threads)
    try:
        core.reset(seeds=list(range(BATCH_SIMS)))
        batch, substeps = core.sim.batch, core.sim.substeps
        return BATCH_SIMS * substeps * timed_rate(timed(lambda: batch.step(nstep=substeps)), budget)
    finally:
        core.close()


def render_fps(env_id: str, size: tuple[int, int], preset: str, budget: Budget, min_frames: int = 3) -> float:
    core = make_batched(env_id, 1, render_size=size, render_preset=preset)
    try:
        core.reset(seeds=[0])
        return timed_rate(timed(lambda: core.render(0)), budget, min_calls=min_frames)
    finally:
        core.close()


def pixel_obs_fps(env_id: str, budget: Budget) -> tuple[float, float]:
    """Frames/s of pixel observations summed over the simulations of one ``BatchedEnv``: with a step each (physics
    and the other observations included), and rendered alone (``observation()`` of the current states: the
    batched rendering itself)."""
    sims, size = PIXEL_OBS
    core = make_batched(env_id, sims, obs_mode="pixels", image_size=size, cameras=("front",))
    try:
        core.reset(seeds=list(range(sims)))
        actions = np.zeros((sims, core.single_action_space.shape[0]))
        stepped = sims * timed_rate(timed(lambda: core.step(actions)), budget)
        rendered = sims * timed_rate(timed(core.observation), budget)
        return stepped, rendered
    finally:
        core.close()


# ---------------------------------------------------------------------------------------------------- one task
def benchmark_task(env_id: str, budget: Budget) -> TaskResult:
    result = TaskResult(env_id)
    try:
        probe = make_batched(env_id, 1)
    except Exception as error:
        result.error = describe_error(error)
        result.rows.append(Row("construct", f"error: {result.error}"))
        return result
    substeps, dt = probe.sim.substeps, probe.model.opt.timestep
    model = probe.model
    result.model_info = (
        f"{substeps} substeps of {dt * 1e3:g} ms per env step; nbody {model.nbody}, ngeom {model.ngeom}, "
        f"nq {model.nq}, nv {model.nv}, nu {model.nu}"
    )
    probe.close()
    del probe
    fig = result.figures

    def measure(label: str, fn: Callable[[], None]) -> None:
        log(f"  {env_id}: {label}")
        try:
            fn()
        except Exception as error:
            result.rows.append(Row(label, f"error: {describe_error(error)}"))

    def add(label: str, value: str, name: str | None = None, figure: float | None = None) -> None:
        target, met = check(name, figure) if name and figure is not None else ("", None)
        result.rows.append(Row(label, value, target, met))

    def single() -> None:
        fig["single_env"] = single_env_rate(env_id, budget)
        add("single env (gymnasium.make), env steps/s", f"{fig['single_env']:,.0f}", "single_env", fig["single_env"])
        fig["single_env_physics"] = fig["single_env"] * substeps
        add("  = physics steps/s through env.step", f"{fig['single_env_physics']:,.0f}")

    def vector(n: int) -> Callable[[], None]:
        def run() -> None:
            fig[f"vector_{n}"], threads = vector_env_rate(env_id, n, budget)
            label = f"vector env, {plural(n, 'sim')} ({plural(threads, 'thread')}), env steps/s summed"
            add(label, f"{fig[f'vector_{n}']:,.0f}")

        return run

    def mj_step() -> None:
        fig["raw_mj_step"] = raw_mj_step_rate(env_id, budget)
        add("raw mj_step loop, one MjData, physics steps/s", f"{fig['raw_mj_step']:,.0f}")

    def batch(threads: int) -> Callable[[], None]:
        def run() -> None:
            key = f"raw_batch_{threads}t"
            fig[key] = raw_batch_rate(env_id, threads, budget)
            add(f"raw Batch.step, {BATCH_SIMS} sims, {plural(threads, 'thread')}, physics steps/s", f"{fig[key]:,.0f}")

        return run

    def resets() -> None:
        fig["reset_ms"] = reset_ms(env_id, budget.resets)
        add("reset, mean ms", f"{fig['reset_ms']:.2f}", "reset_ms", fig["reset_ms"])

    def render(spec: tuple[tuple[int, int], str], name: str | None, min_frames: int) -> Callable[[], None]:
        (height, width), preset = spec

        def run() -> None:
            key = f"render_{preset}"
            fig[key] = render_fps(env_id, (height, width), preset, budget, min_frames)
            add(f"render {height}x{width} (h x w) preset {preset!r}, fps", f"{fig[key]:,.1f}", name, fig[key])

        return run

    def recording() -> None:
        plain, recorded = recording_overhead(env_id, budget)
        fig["recording_overhead"] = plain / recorded - 1.0
        add("single env recorded (episode files, no video), env steps/s", f"{recorded:,.0f} (plain {plain:,.0f})")
        value = f"{fig['recording_overhead']:+.1%}"
        add("recording slowdown: plain / recorded - 1", value, "recording_overhead", fig["recording_overhead"])

    def memory() -> None:
        current, peak = memory_mb(env_id, MEMORY_STEPS)
        fig["memory_mb"] = current
        value = f"{current:.0f} (peak {peak:.0f})"
        add(f"one env process, {MEMORY_STEPS} steps, resident MB", value, "memory_mb", current)

    measure("single env", single)
    for n in VECTOR_SIZES:
        measure(f"vector env {n}", vector(n))
    measure("raw mj_step", mj_step)
    for threads in BATCH_THREADS:
        measure(f"raw Batch.step {threads} thread(s)", batch(threads))
    if "raw_mj_step" in fig and "single_env_physics" in fig:
        fig["overhead"] = fig["raw_mj_step"] / fig["single_env_physics"]
        add(
            "overhead ratio: raw mj_step / physics through env.step",
            f"{fig['overhead']:.2f}",
            "overhead",
            fig["overhead"],
        )
    largest = max(VECTOR_SIZES)
    if "raw_mj_step" in fig and f"vector_{largest}" in fig:
        fig["vector_vs_raw"] = fig[f"vector_{largest}"] * substeps / fig["raw_mj_step"]
        add(
            f"vector@{largest} physics steps/s / raw single-thread mj_step",
            f"{fig['vector_vs_raw']:.2f}x",
            "vector_vs_raw",
            fig["vector_vs_raw"],
        )
    measure("recording", recording)
    measure("reset", resets)
    measure("render fast", render(FAST_RENDER, "render_fast", 3))
    measure("render quality", render(QUALITY_RENDER, "render_quality", budget.quality_min_frames))

    def pixels() -> None:
        fig["pixel_obs"], fig["pixel_render"] = pixel_obs_fps(env_id, budget)
        sims, (height, width) = PIXEL_OBS
        add(f"pixel observations {height}x{width}, {sims} simulations, frames/s summed", f"{fig['pixel_obs']:,.0f}",
            "pixel_obs", fig["pixel_obs"])  # fmt: skip
        add(f"  rendered alone (no step), {sims} simulations, frames/s summed", f"{fig['pixel_render']:,.0f}",
            "pixel_render", fig["pixel_render"])  # fmt: skip

    measure("pixel observations", pixels)
    measure("memory", memory)
    return result


# ---------------------------------------------------------------------------------------------------- report
def header(budget_name: str) -> list[str]:
    import mujoco

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return [
        "# embodia benchmark",
        "",
        f"- {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; run: {budget_name}",
        f"- {platform.machine()}, {os.cpu_count()} cores; load average {load[0]:.2f} at start"
        + (" (busy machine: figures are low)" if load[0] > 0.5 * (os.cpu_count() or 1) else ""),
        f"- Python {platform.python_version()}, mujoco {mujoco.__version__}, numpy {np.__version__}, "
        f"gymnasium {gym.__version__}, embodia {embodia.__version__}; MUJOCO_GL={os.environ.get('MUJOCO_GL', 'unset')}",
        "",
    ]


def summary_table(results: list[TaskResult]) -> list[str]:
    columns = [
        ("single env steps/s", "single_env", "{:,.0f}"),
        ("overhead", "overhead", "{:.2f}"),
        ("reset ms", "reset_ms", "{:.2f}"),
        ("vector@64 / raw", "vector_vs_raw", "{:.2f}x"),
        ("fast render fps", "render_fast", "{:,.0f}"),
        ("pixel obs fps", "pixel_obs", "{:,.0f}"),
        ("pixel render fps", "pixel_render", "{:,.0f}"),
        ("quality 640x480 fps", "render_quality", "{:.1f}"),
        ("recording slowdown", "recording_overhead", "{:+.1%}"),
        ("env process MB", "memory_mb", "{:.0f}"),
    ]
    lines = [
        "| task | " + " | ".join(title for title, _, _ in columns) + " | targets met |",
        "|---|" + "---:|" * len(columns) + "---|",
        "| *target* | " + " | ".join(f"*{check(name, 0.0)[0]}*" for _, name, _ in columns) + " | |",
    ]
    for result in results:
        if result.error:
            lines.append(f"| {result.env_id} | error: {result.error} |" + " |" * len(columns))
            continue
        cells, met, total = [], 0, 0
        for _, name, fmt in columns:
            if name in result.figures:
                ok = check(name, result.figures[name])[1]
                met, total = met + ok, total + 1
                cells.append(fmt.format(result.figures[name]) + ("" if ok else " (miss)"))
            else:
                cells.append("error")
        errors = sum(row.value.startswith("error") for row in result.rows)
        verdict = f"{met}/{len(columns)}" + (f", {errors} error(s)" if errors else "")
        lines.append(f"| {result.env_id} | " + " | ".join(cells) + f" | {verdict} |")
    return [*lines, ""]


def task_table(result: TaskResult) -> list[str]:
    lines = [f"## {result.env_id}", ""]
    if result.model_info:
        lines += [result.model_info, ""]
    lines += ["| metric | value | target | met |", "|---|---:|---|---|"]
    for row in result.rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.metric} | {row.value} | {row.target} | {met} |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short timing windows (seconds, noisier figures)")
    parser.add_argument(
        "--tasks", nargs="+", type=task_id_arg, metavar="ID", help="task names or ids (default: every registered task)"
    )
    parser.add_argument("--out", type=Path, help="also write the markdown to this file")
    peers_help = "also run robosuite, Meta-World and Gymnasium-Robotics from their venvs in DIR (peers.py)"
    parser.add_argument("--peers", type=Path, metavar="DIR", help=peers_help)
    args = parser.parse_args(argv)

    env_ids = args.tasks or list(TASKS)
    budget = QUICK if args.quick else FULL
    lines = header("quick" if args.quick else "full")
    results = []
    for env_id in env_ids:
        log(f"benchmarking {env_id}")
        results.append(benchmark_task(env_id, budget))
    lines += summary_table(results)
    stages = {}
    for env_id in env_ids:
        log(f"timing the step's stages of {env_id}")
        stages[env_id] = stage_times(env_id, steps=STAGE_STEPS_QUICK if args.quick else STAGE_STEPS)
    lines += [
        "## Where the single env's step goes (µs per step; `experiments/step_stages.py`)",
        "",
        *stage_table(stages),
        "",
    ]
    vector_stages = {}
    for env_id in env_ids:
        log(f"timing the stages of {env_id}'s {BATCH_SIMS}-simulation vector env")
        steps = VECTOR_STAGE_STEPS_QUICK if args.quick else VECTOR_STAGE_STEPS
        vector_stages[env_id] = stage_times(env_id, steps=steps, num_envs=BATCH_SIMS)
    lines += [
        f"## Where the {BATCH_SIMS}-simulation vector env's step goes (µs per vector step, its autoresets counted; "
        f"`experiments/step_stages.py --num-envs {BATCH_SIMS}`)",
        "",
        *stage_table(vector_stages),
        "",
    ]
    for result in results:
        lines += task_table(result)
    if args.peers:
        log(f"running the peers in {args.peers}")
        lines += ["## Peers, in the same run (`experiments/peers.py`)", "",
                  *peer_table(peer_rows(args.peers, 0.3 if args.quick else 2.0))]  # fmt: skip
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
