"""``embodia train --algo bc``: a missing demonstration folder names the command that records it, and
``dagger_rounds`` in the config runs DAgger (real physics on Reach, seconds)."""

from __future__ import annotations

import json
import shlex

import pytest

pytest.importorskip("stable_baselines3")

from embodia.agents.learn import train as training
from embodia.agents.learn.config import ConfigError, TrainConfig
from embodia.agents.learn.dataset import DatasetError
from embodia.cli import main

REACH = "embodia/Reach-v0"
TINY_BC = dict(net_arch=[32, 32], bc_epochs=5, bc_patience=5, eval_episodes=2, final_eval_episodes=2)


def test_a_missing_demo_folder_names_the_command_that_records_it_and_that_command_works(tmp_path):
    folder = tmp_path / "demos" / "Reach-v0"
    config = TrainConfig(demos=str(folder), demo_episodes=3, **TINY_BC)
    with pytest.raises(DatasetError, match="Record the demonstrations first: embodia run embodia/Reach-v0") as error:
        training.train(REACH, "bc", config, 0, tmp_path / "run")
    assert not (tmp_path / "run").exists()
    command = str(error.value).split("Record the demonstrations first: ")[1]
    assert main([*shlex.split(command)[1:], "--quiet"]) == 0
    result = training.train(REACH, "bc", config, 0, tmp_path / "run", progress=False)
    assert result["episodes"] == 2


def test_dagger_rounds_in_the_config_run_dagger_and_keep_the_best_round(tmp_path):
    folder = tmp_path / "demos"
    assert main(["run", REACH, "--episodes", "4", "--num-envs", "4", "--no-video", "--quiet", "--record",
                 str(folder)]) == 0  # fmt: skip
    config = TrainConfig(demos=str(folder), demo_episodes=4, dagger_rounds=1, dagger_episodes=3,
                         env_kwargs={"episode_steps": 15}, **TINY_BC)  # fmt: skip
    training.train(REACH, "bc", config, 0, tmp_path / "run", progress=False)
    dagger = json.loads((tmp_path / "run" / "run.json").read_text())["dagger"]
    assert [r["round"] for r in dagger["rounds"]] == [0, 1]
    assert dagger["rounds"][1]["transitions"] > dagger["rounds"][0]["transitions"]  # labelled rollouts were added
    assert dagger["selected_round"] in (0, 1)


def test_bad_dagger_and_feature_options_are_refused():
    with pytest.raises(ConfigError, match="dagger_rounds=-1"):
        TrainConfig(dagger_rounds=-1)
    with pytest.raises(ConfigError, match="policy_features='colour'"):
        TrainConfig(policy_features="colour")
