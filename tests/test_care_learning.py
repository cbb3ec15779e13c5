"""The elder-care learning script: its configs load and its table says what ran and what did not."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from embodia.agents.learn.config import load_config

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "care_learning.py"


@pytest.fixture(scope="module")
def care_learning():
    spec = importlib.util.spec_from_file_location("care_learning", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_task_and_method_has_a_valid_config_with_dart_demos(care_learning):
    for task in care_learning.TASKS:
        for method in care_learning.METHODS:
            config = load_config(care_learning.CONFIGS / f"{task}-{method}.yaml")
            assert care_learning.DART_FOLDER.fullmatch(Path(config.demos).name)[1] == task


def test_table_rows_give_mean_spread_budget_and_name_missing_runs(care_learning):
    groups = {
        ("Feeding", "bc"): [
            {"success_rate": 0.9, "episodes": 100, "env_steps": 0, "train_wall_s": 10.0, "curve": []},
            {"success_rate": 0.7, "episodes": 100, "env_steps": 0, "train_wall_s": 20.0},
        ],
        ("Feeding", "sac"): [
            {
                "success_rate": 0.5,
                "episodes": 50,
                "env_steps": 10000,
                "train_wall_s": 99.6,
                "curve": [(0.0, 0.25), (5000.0, 0.5)],
            },
        ],
    }
    notes = {("Feeding", "ppo"): "not run: too slow"}
    rows = care_learning.table_rows(groups, ("Feeding",), ("bc", "sac", "ppo"), notes)
    assert rows == [
        "| Feeding | bc | 2 | **80% ± 10%** | [90%, 70%] | 100 | 0 | 15 s |  |",
        "| Feeding | sac | 1 | **50% ± 0%** | [50%] | 50 | 10,000 | 100 s | 25% → 50% |",
        "| Feeding | ppo | 0 | not run: too slow | | | | | |",
    ]
