"""The benchmark's stage breakdown times the env's real stages: each one runs, the parts add up to the step."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
try:
    from step_stages import NESTED, stage_times
finally:
    sys.path.pop(0)


def test_every_stage_of_a_care_task_is_timed_and_the_stages_add_up_to_the_step() -> None:
    times = stage_times("embodia/Handover-v0", steps=60)
    stages = ("physics", "control", "person", "evaluate", "safety monitor", "reward", "observe", "info")
    assert all(times[stage] > 0 for stage in stages), times
    assert times["safety monitor"] < times["evaluate"]  # the monitor runs inside evaluate
    parts = sum(v for k, v in times.items() if k in stages and k not in NESTED) + times["rest"]
    assert parts == pytest.approx(times["total"])
    assert times["rest"] > 0 and times["physics"] > max(times[s] for s in stages if s != "physics")


def test_a_task_without_a_person_has_no_safety_stage() -> None:
    times = stage_times("embodia/Reach-v0", steps=30)
    assert "safety monitor" not in times and times["physics"] > 0


def test_the_vector_env_counts_its_autoresets_as_a_stage_of_its_step() -> None:
    # Reach's episodes last 50 steps: after 50 warm-up steps, the 60 timed ones end every episode once more
    times = stage_times("embodia/Reach-v0", steps=60, num_envs=4)
    stages = ("physics", "control", "evaluate", "reward", "observe", "info", "reset")
    assert all(times[stage] > 0 for stage in stages), times
    parts = sum(v for k, v in times.items() if k not in NESTED | {"total", "rest", "beyond_physics"})
    assert parts + times["rest"] == pytest.approx(times["total"])
    assert times["rest"] > 0


def test_no_simulations_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="num_envs=0"):
        stage_times("embodia/Reach-v0", steps=5, num_envs=0)


def test_the_benchmark_times_resets_in_a_new_process_after_another_filled_the_shape_cache(tmp_path, monkeypatch):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
    try:
        from fresh_process import reset_ms
    finally:
        sys.path.pop(0)
    from embodia.envs.human import shape

    monkeypatch.setenv("EMBODIA_CACHE_DIR", str(tmp_path))
    before = shape.body_shape.cache_info().currsize
    figure = reset_ms("embodia/Handover-v0", 10)
    assert 0 < figure < 1000
    assert list((tmp_path / "body-shapes").glob("*/*.shape"))  # the first process filled the cache it read
    assert shape.body_shape.cache_info().currsize == before  # nothing was laid out in this process
