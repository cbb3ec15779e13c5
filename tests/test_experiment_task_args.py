"""Experiment scripts refuse bad arguments in one usage line: an unknown task (naming it and the valid ones), a
count below 1 or a negative seed (which failed deep inside, as tracebacks or divisions by zero)."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from embodia.commands.common import task_id_arg, task_name_arg
from embodia.envs.tasks.registry import TASKS, resolve_task, short_name

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
#: script -> its arguments with an unknown task (and what else it requires before it reads the task)
UNKNOWN_TASK = {
    "bc_dagger.py": ["--tasks", "Nope"],
    "bc_levers.py": ["table", "--task", "Nope"],
    "benchmark.py": ["--quick", "--tasks", "Nope"],
    "care_report.py": ["--task", "Nope"],
    "episode_costs.py": ["--tasks", "Nope"],
    "expert_step_cost.py": ["--tasks", "Nope"],
    "factory_report.py": ["--task", "Nope"],
    "hold_drift.py": ["--task", "Nope"],
    "learning_suite.py": ["--tasks", "Nope"],
    "ppo_throughput.py": ["--task", "Nope"],
    "ray_scaling.py": ["--task", "Nope"],
    "render_profile.py": ["--task", "Nope"],
    "reset_cost.py": ["Nope"],
    "safety_report.py": ["--task", "Nope"],
    "stall_check.py": ["--tasks", "Nope"],
    "step_stages.py": ["--tasks", "Nope"],
    "teleop_demos.py": ["--task", "Nope", "--out", "unused"],
    "teleop_latency.py": ["--task", "Nope"],
    "train_grid.py": ["--tasks", "Nope"],
    "who_fails.py": ["--task", "Nope"],
}


def test_every_script_with_a_task_argument_is_listed() -> None:
    """A new script that takes --task or --tasks is checked here too."""
    takes_tasks = {
        path.name
        for path in EXPERIMENTS.glob("*.py")
        if any(f'"--{flag}"' in path.read_text() for flag in ("task", "tasks")) or path.name == "reset_cost.py"
    }
    takes_tasks -= {"care_learning.py", "make_media.py", "warp_survey.py"}  # argparse choices / checked before use
    assert takes_tasks == set(UNKNOWN_TASK)


@pytest.mark.parametrize("script", sorted(UNKNOWN_TASK))
def test_an_unknown_task_is_a_one_line_usage_error(script: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXPERIMENTS / script), *UNKNOWN_TASK[script]],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "'Nope'" in last and "BinPicking" in last  # the value, and the valid ones


def test_task_names_and_ids_resolve_to_the_id() -> None:
    for env_id in TASKS:
        assert resolve_task(env_id) == env_id
        assert resolve_task(short_name(env_id)) == env_id
        assert task_name_arg(env_id) == short_name(env_id) == task_name_arg(short_name(env_id))
    with pytest.raises(argparse.ArgumentTypeError, match=r"unknown task 'binpicking'; valid: BinPicking, "):
        task_id_arg("binpicking")
    with pytest.raises(ValueError, match="unknown task 'embodia/BinPicking-v9'"):
        resolve_task("embodia/BinPicking-v9")


def test_a_report_refuses_a_task_it_does_not_cover(tmp_path: Path) -> None:
    for script, args in (("who_fails.py", ["--task", "Reach"]), ("factory_report.py", ["--task", "Reach"])):
        result = subprocess.run(
            [sys.executable, str(EXPERIMENTS / script), *args],
            capture_output=True, text=True, timeout=120, cwd=tmp_path, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
        assert "embodia/Reach-v0" in result.stderr.strip().splitlines()[-1]


#: each script's first count or seed option: every one of them goes through commands.common's argparse types
NUMBER_FLAG = re.compile(r'add_argument\(\s*"--(episodes|num-envs|steps|seed|seeds)"')
NUMBER_OPTIONS = {
    path.name: NUMBER_FLAG.search(path.read_text()).group(1)
    for path in sorted(EXPERIMENTS.glob("*.py"))
    if NUMBER_FLAG.search(path.read_text())
}


@pytest.mark.parametrize("script", sorted(NUMBER_OPTIONS))
def test_a_count_below_one_or_a_negative_seed_is_a_one_line_usage_error(script: str, tmp_path: Path) -> None:
    flag = NUMBER_OPTIONS[script]
    value = "-1" if flag.startswith("seed") else "0"
    result = subprocess.run(
        [sys.executable, str(EXPERIMENTS / script), f"--{flag}", value],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert f"--{flag}" in result.stderr.strip().splitlines()[-1]
