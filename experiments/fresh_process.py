"""The benchmark's measurements that need a process of their own: memory (a fresh process's resident set) and
reset time (a new process's first resets, the person shapes on disk rather than in memory). Kept apart from
``benchmark.py`` because each is a script run by this Python in a child process."""

from __future__ import annotations

import subprocess
import sys

RESET_SCRIPT = """
import sys
import time
import gymnasium as gym
import embodia

env = gym.make(sys.argv[1])
env.reset(seed=0)
resets = int(sys.argv[2])
start = time.perf_counter()
for seed in range(1, resets + 1):
    env.reset(seed=seed)
print((time.perf_counter() - start) / resets * 1e3)
"""


def reset_ms(env_id: str, resets: int) -> float:
    """Mean ms of the first ``resets`` seeded resets of a new env in a new process, the person shapes they
    meet in the on-disk cache (``envs/human/shape_cache.py``): what a user's process pays on every run but the
    machine's first. A first process fills the cache and its figure is dropped. Timed in this process instead, the
    figure depended on which shapes earlier stages had left in memory, and on a fresh machine it counted compiling
    them."""
    run_script(RESET_SCRIPT, env_id, resets)  # fills the cache
    return float(run_script(RESET_SCRIPT, env_id, resets).split()[-1])


def run_script(script: str, *args: object) -> str:
    """The standard output of ``script`` run by this Python in a new process; its last error line raised."""
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"exit code {result.returncode}")
    return result.stdout


MEMORY_SCRIPT = """
import sys
import numpy as np
import gymnasium as gym
import embodia

env = gym.make(sys.argv[1])
env.reset(seed=0)
rng = np.random.default_rng(0)
for _ in range(int(sys.argv[2])):
    action = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
    _, _, terminated, truncated, _ = env.step(action)
    if terminated or truncated:
        env.reset()
try:
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    print(int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)
except OSError:
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(peak, peak)
"""


def memory_mb(env_id: str, steps: int) -> tuple[float, float]:
    """(current, peak) resident MB of a fresh process that makes ``env_id`` and steps it ``steps`` times."""
    current, peak = (float(v) for v in run_script(MEMORY_SCRIPT, env_id, steps).split()[-2:])
    return current, peak
