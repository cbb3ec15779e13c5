"""Episodes spread over Ray workers on a real local cluster (a head node and a worker node, both on 127.0.0.1):
the same files, bit for bit, as one process; a worker killed mid-job loses and duplicates nothing; an interrupted
run resumes."""

from __future__ import annotations

import filecmp
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from process_support import KillWhenReady, sigint_as_in_a_terminal

# Ray's token authentication, as a cluster started with `ray start` uses it: read when ray is imported, so set
# before. `ray start --head` does not make a token (only `ray.init` does, in ~/.ray/auth_token), so on a machine
# that has never run Ray it refused to start; the nodes and drivers these tests start share one made here
os.environ.setdefault("RAY_AUTH_MODE", "token")
if not (Path.home() / ".ray" / "auth_token").exists():
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
ray = pytest.importorskip("ray")

from embodia.agents.evaluate import run_episodes  # noqa: E402

TASK = "embodia/Reach-v0"
SMALL_VIDEO = (96, 128)


def ray_command(*args: str, check: bool = True) -> None:
    """Run the ``ray`` CLI of this environment; a failure raises with the tail of what it printed."""
    executable = shutil.which("ray", path=os.path.dirname(sys.executable)) or "ray"
    done = subprocess.run([executable, *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})  # fmt: skip
    if check and done.returncode != 0:
        raise RuntimeError(f"ray {' '.join(args)} exited with {done.returncode}: {(done.stdout + done.stderr)[-2000:]}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_cluster() -> str:
    """A head node and one worker node on a free port; the address."""
    port = free_port()
    ray_command("start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "1",
                "--include-dashboard", "false", "--disable-usage-stats")  # fmt: skip
    address = f"127.0.0.1:{port}"
    ray_command("start", "--address", address, "--node-ip-address", "127.0.0.1", "--num-cpus", "1")
    return address


@pytest.fixture(scope="module")
def cluster():
    """A head node and one worker node, one CPU each, with Ray's token authentication, torn down after the
    module's tests. Started a second time, on another port, when the first start fails: on a loaded two-core
    machine a node can miss Ray's start-up deadline, or the free port be taken before Ray binds it."""
    try:
        try:
            address = start_cluster()
        except RuntimeError:
            ray_command("stop", "--force", check=False)
            address = start_cluster()
        yield address
    finally:
        ray_command("stop", "--force", check=False)


def same_files(one: Path, other: Path) -> list[str]:
    """Episode files of two run folders: the names that differ in content (or exist in one only)."""
    names = sorted({p.name for p in [*one.glob("episode_*"), *other.glob("episode_*")]})
    both = [n for n in names if (one / n).exists() and (other / n).exists()]
    return [n for n in names if n not in both or not filecmp.cmp(one / n, other / n, shallow=False)]


def record(folder: Path, episodes: int, **kwargs) -> dict:
    return run_episodes(TASK, episodes=episodes, seed=7, num_envs=2, record_dir=folder, progress=False,
                        render_size=SMALL_VIDEO, **kwargs)  # fmt: skip


def test_two_workers_write_the_single_process_run_file_for_file(cluster, tmp_path) -> None:
    alone = record(tmp_path / "alone", 10)
    spread = record(tmp_path / "spread", 10, workers=2, ray_address=cluster)
    assert same_files(tmp_path / "alone", tmp_path / "spread") == []
    assert len(list((tmp_path / "spread").glob("episode_*.npz"))) == 10
    assert spread["per_episode"] == alone["per_episode"] and spread["retried_episodes"] == 0
    assert json.loads((tmp_path / "spread" / "summary.json").read_text())["workers"] == 2


def test_a_worker_killed_mid_job_loses_and_duplicates_nothing(cluster, tmp_path) -> None:
    alone = record(tmp_path / "alone", 20)
    two_written = lambda: len(list((tmp_path / "spread").glob("episode_*.npz"))) >= 2  # noqa: E731
    with KillWhenReady("ray::run_share", two_written, timeout_s=120) as killer:
        summary = record(tmp_path / "spread", 20, workers=2, ray_address=cluster)
    assert killer.killed is not None, "no worker was running a share to kill"
    assert summary["retried_episodes"] > 0
    assert summary["per_episode"] == alone["per_episode"]  # all 20, once each, in order
    assert same_files(tmp_path / "alone", tmp_path / "spread") == []
    assert not list((tmp_path / "spread").glob(".episode_*"))  # the dead worker's temporary files are gone


def test_an_interrupted_run_resumes_and_skips_its_finished_episodes(tmp_path) -> None:
    def command(folder: str) -> list[str]:
        return [sys.executable, "-m", "embodia.cli", "run", TASK, "--episodes", "16", "--seed", "7", "--num-envs",
                "2", "--render-size", "96x128", "--record", str(tmp_path / folder), "--quiet"]  # fmt: skip

    subprocess.run(command("alone"), check=True, capture_output=True, timeout=300)
    alone = json.loads((tmp_path / "alone" / "summary.json").read_text())
    process = subprocess.Popen([*command("spread"), "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=sigint_as_in_a_terminal)  # fmt: skip
    deadline = time.monotonic() + 180
    while len(list((tmp_path / "spread").glob("episode_*.npz"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    interrupted = json.loads((tmp_path / "spread" / "summary.json").read_text())
    assert interrupted["interrupted"] == "SIGINT" and 3 <= interrupted["episodes"] < 16
    # the state a stop between an episode's video and its data leaves: the video and result, no .npz
    finished = sorted((tmp_path / "spread").glob("episode_*.npz"))[-1]
    finished.unlink()
    assert finished.with_suffix(".mp4").is_file()
    resumed = subprocess.run(
        [*command("spread"), "--workers", "2", "--resume"], capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads((tmp_path / "spread" / "summary.json").read_text())
    assert summary["per_episode"] == alone["per_episode"]
    assert same_files(tmp_path / "alone", tmp_path / "spread") == []


def test_bad_distributed_arguments_are_one_line_errors(tmp_path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "embodia.cli", "run", TASK, "--episodes", "2", *args],
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    for args, message in [
        (["--workers", "-1"], "--workers must be >= 0"),
        (["--ray-address", "127.0.0.1:1"], "--ray-address needs --workers N"),
        (["--resume"], "resume continues a recording: it needs record_dir"),
        (["--resume", "--record", str(tmp_path / "none")], "holds no run to resume"),
    ]:
        result = run(*args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    record(tmp_path / "other", 2)
    result = run("--resume", "--policy", "random", "--record", str(tmp_path / "other"))
    assert result.returncode == 2 and "resume it with the same task, options and policy" in result.stderr
