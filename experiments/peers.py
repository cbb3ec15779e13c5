"""Speed and memory of peer suites' pick tasks, each measured in its own virtual environment.

    python experiments/peers.py --peers DIR                 # 2 s windows
    python experiments/peers.py --peers DIR --window 5 --json

Peers (each optional: a missing ``DIR/<name>/bin/python`` is skipped with a one-line note):

- ``robosuite``: ``Lift`` with one Panda and its default controller (OSC_POSE arm + gripper), renderers off;
- ``metaworld``: ``pick-place-v3`` through ``gymnasium.make("Meta-World/MT1", ...)`` (its wrappers included);
- ``gymnasium_robotics``: ``FetchPickAndPlace-v4`` through ``gymnasium.make`` (its wrappers included).

Create DIR (Python 3.11; only the package index is needed; these are the versions that ran here)::

    python3.11 -m venv DIR/robosuite
    DIR/robosuite/bin/python -m pip install "robosuite==1.5.2" "mujoco==3.3.0" "numpy==1.26.4"
    python3.11 -m venv DIR/metaworld
    DIR/metaworld/bin/python -m pip install "metaworld==3.1.1" "mujoco==3.3.0" "gymnasium[mujoco]==1.2.2" \\
        "numpy==2.2.6"
    python3.11 -m venv DIR/gymnasium_robotics
    DIR/gymnasium_robotics/bin/python -m pip install "gymnasium-robotics==1.4.2" "mujoco==3.3.0" \\
        "gymnasium==1.2.2" "numpy==2.2.6"

(robosuite 1.5.2 needs numpy<2 through its pinned ``mink==0.0.5``; metaworld 3.1.1 pins ``mujoco==3.3.0`` and needs
``packaging``, which ``gymnasium[mujoco]`` brings.)

What is measured, in a fresh process of the peer's own python running ``MEASURE_SCRIPT`` (which imports only the
peer's packages, numpy and the standard library), the same way as ``benchmark.py`` measures our tasks:

- env steps/s: ``env.step`` with random actions drawn beforehand (uniform over the action bounds), after a warm-up
  (robosuite compiles numba kernels on its first step), over a wall window of ``window_s``; only the step calls are
  timed, so resets (robosuite's hard reset reloads the model: ~0.7 s) are excluded;
- substeps: physics steps per env step, read from the env (robosuite: control_timestep / model timestep, with
  control_freq; Meta-World: frame_skip; Fetch: n_substeps); physics steps/s through env = env steps/s x substeps;
- raw mj_step: ``mujoco.mj_step`` in a tight loop on the env's own MjModel/MjData. As in ``benchmark.py``, each call
  restores one of the states the env passed through under the random actions (controls included) and advances it by
  one env step's substeps, so raw and env integrate the same contacts; the rate from the reset state alone is in the
  JSON as ``raw_mj_step_reset``;
- overhead: raw mj_step / physics steps/s through env (1.0: the env costs nothing beyond the physics);
- MB: peak resident set of the measuring process (``VmHWM``), which includes the imports.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PEERS = ("robosuite", "metaworld", "gymnasium_robotics")
RESULT_TAG = "PEER-RESULT "  # the measuring script's JSON line starts with this; peers also print to stdout
TIMEOUT_S = 900.0

MEASURE_SCRIPT = r"""
import json, sys, time

import mujoco
import numpy as np

NAME, WINDOW = sys.argv[1], float(sys.argv[2])
WARMUP_S, WARMUP_STEPS, BANK, MIN_CALLS = min(1.0, WINDOW / 2), 20, 256, 20


def make_robosuite():
    import robosuite

    env = robosuite.make(
        "Lift", robots="Panda", has_renderer=False, has_offscreen_renderer=False, use_camera_obs=False,
        render_camera=None, seed=0,
    )
    env.reset()
    low, high = env.action_spec
    substeps = int(round(env.control_timestep / env.model_timestep))

    def step(action):
        return bool(env.step(action)[2])

    def reset(seed):
        env.reset()  # robosuite 1.5 is seeded at make; reset takes no seed

    def sim():  # a hard reset builds a new sim
        return env.sim.model._model, env.sim.data._data

    info = {
        "task": "Lift (Panda, OSC_POSE)", "version": robosuite.__version__, "mujoco": mujoco.__version__,
        "control_freq": float(env.control_freq), "timestep": float(env.model_timestep), "substeps": substeps,
    }
    return info, low, high, step, reset, sim


def make_gymnasium(env_id, substeps_of, task, package, **kwargs):
    import importlib.metadata
    import gymnasium as gym

    env = gym.make(env_id, **kwargs)  # render_mode None: nothing is rendered
    env.reset(seed=0)
    inner = env.unwrapped
    substeps = int(substeps_of(inner))

    def step(action):
        _, _, terminated, truncated, _ = env.step(action)
        return bool(terminated or truncated)

    def reset(seed):
        env.reset(seed=seed)

    def sim():
        return inner.model, inner.data

    timestep = float(inner.model.opt.timestep)
    info = {
        "task": task, "version": importlib.metadata.version(package), "mujoco": mujoco.__version__,
        "control_freq": 1.0 / (timestep * substeps), "timestep": timestep, "substeps": substeps,
    }
    return info, env.action_space.low, env.action_space.high, step, reset, sim


def make_metaworld():
    import metaworld  # registers Meta-World/*

    return make_gymnasium(
        "Meta-World/MT1", lambda inner: inner.frame_skip, "pick-place-v3 (MT1)", "metaworld",
        env_name="pick-place-v3", seed=0,
    )


def make_fetch():
    import gymnasium as gym
    import gymnasium_robotics

    gym.register_envs(gymnasium_robotics)
    return make_gymnasium(
        "FetchPickAndPlace-v4", lambda inner: inner.n_substeps, "FetchPickAndPlace-v4", "gymnasium-robotics"
    )


MAKERS = {"robosuite": make_robosuite, "metaworld": make_metaworld, "gymnasium_robotics": make_fetch}

start = time.perf_counter()
info, low, high, step, reset, sim = MAKERS[NAME]()
info["make_s"] = time.perf_counter() - start
low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
actions = np.random.default_rng(0).uniform(low, high, (BANK, *low.shape)).astype(np.float32)
substeps = info["substeps"]

# ---- env steps/s: warm-up, then a wall window; only the step calls are timed
count, start = 0, time.perf_counter()
while count < WARMUP_STEPS or time.perf_counter() - start < WARMUP_S:
    if step(actions[count % BANK]):
        reset(None)
    count += 1
reset(1)
calls, counted, resets, start = 0, 0.0, 0, time.perf_counter()
while calls < MIN_CALLS or time.perf_counter() - start < WINDOW:
    t0 = time.perf_counter()
    done = step(actions[calls % BANK])
    counted += time.perf_counter() - t0
    calls += 1
    if done:
        reset(None)
        resets += 1
info["env_steps_per_s"] = calls / counted
info["env_steps_timed"] = calls
info["resets_untimed"] = resets

# ---- raw mj_step on the env's own model/data
spec = mujoco.mjtState.mjSTATE_INTEGRATION
reset(2)
states = []
for action in actions:
    done = step(action)
    model, data = sim()
    state = np.empty(mujoco.mj_stateSize(model, spec))
    mujoco.mj_getState(model, data, state, spec)
    states.append(state)
    if done:
        reset(None)
model, data = sim()
mj_step, set_state = mujoco.mj_step, mujoco.mj_setState
calls, counted, start = 0, 0.0, time.perf_counter()
while calls < MIN_CALLS or time.perf_counter() - start < WINDOW:
    set_state(model, data, states[calls % len(states)], spec)
    t0 = time.perf_counter()
    for _ in range(substeps):
        mj_step(model, data)
    counted += time.perf_counter() - t0
    calls += 1
info["raw_mj_step"] = calls * substeps / counted

reset(3)
model, data = sim()
steps, start = 0, time.perf_counter()
while steps < MIN_CALLS * substeps or time.perf_counter() - start < WINDOW:
    for _ in range(substeps):
        mj_step(model, data)
    steps += substeps
info["raw_mj_step_reset"] = steps / (time.perf_counter() - start)

info["physics_through_env"] = info["env_steps_per_s"] * substeps
info["overhead"] = info["raw_mj_step"] / info["physics_through_env"]
# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over exec from the parent (the benchmark's fork)
with open("/proc/self/status") as status:
    info["peak_rss_mb"] = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
info["numpy"] = np.__version__
print("PEER-RESULT " + json.dumps(info), flush=True)
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peer_python(peers_dir: Path, name: str) -> Path:
    return peers_dir / name / "bin" / "python"


def measure_peer(python: Path, name: str, window_s: float) -> dict[str, Any]:
    """Run ``MEASURE_SCRIPT`` for peer ``name`` in ``python``; its figures, or ``{"error": ...}``."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # nothing of ours may leak into the peer's process
    env.setdefault("MUJOCO_GL", "egl")  # nothing renders; robosuite picks a backend at import all the same
    with tempfile.TemporaryDirectory(prefix="embodia-peer-") as folder:  # stray log files land here
        try:
            result = subprocess.run(
                [str(python), "-c", MEASURE_SCRIPT, name, str(window_s)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                check=False,
                cwd=folder,
                env=env,
            )
        except subprocess.TimeoutExpired:
            return {"peer": name, "error": f"timed out after {TIMEOUT_S:.0f} s"}
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return {"peer": name, **json.loads(line[len(RESULT_TAG) :])}
    lines = (result.stderr or result.stdout).strip().splitlines()
    return {"peer": name, "error": lines[-1] if lines else f"exit code {result.returncode}"}


def peer_rows(peers_dir: Path, window_s: float) -> list[dict[str, Any]]:
    """Figures of every peer whose venv is in ``peers_dir``, one dict each; missing peers are skipped with a note."""
    rows = []
    for name in PEERS:
        python = peer_python(peers_dir, name)
        if not python.exists():
            log(f"peers: skipped {name}: no {python}")
            continue
        log(f"peers: measuring {name} ({window_s:g} s windows)")
        rows.append(measure_peer(python, name, window_s))
    return rows


def peer_table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown lines: one row per peer, the same figures as our summary (overhead: raw / physics through env)."""
    lines = [
        "| peer | version | env steps/s | substeps | physics steps/s through env | raw mj_step | overhead | MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if "error" in row:
            error = str(row["error"]).replace("|", "\\|")[:200]
            lines.append(f"| {row['peer']} | error: {error} | | | | | | |")
            continue
        version = f"{row['version']} (mujoco {row['mujoco']})"
        substeps = f"{row['substeps']} x {row['timestep'] * 1e3:g} ms ({row['control_freq']:g} Hz)"
        lines.append(
            f"| {row['peer']}: {row['task']} | {version} | {row['env_steps_per_s']:,.0f} | {substeps} | "
            f"{row['physics_through_env']:,.0f} | {row['raw_mj_step']:,.0f} | {row['overhead']:.2f} | "
            f"{row['peak_rss_mb']:.0f} |"
        )
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=Path, required=True, metavar="DIR", help="folder of the peers' venvs")
    parser.add_argument("--window", type=float, default=2.0, help="seconds of each timed window (default 2)")
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args(argv)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = peer_rows(args.peers, args.window)
    if not rows:
        log(f"peers: no peer venv in {args.peers}")
        return 0
    print(f"Peers, {args.window:g} s windows; load average {load:.2f} at start\n")
    print("\n".join(peer_table(rows)))
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
