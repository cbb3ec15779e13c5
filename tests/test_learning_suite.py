"""The learning table's tooling end to end, as CI runs it: ``experiments/learning_suite.py --quick``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("matplotlib")

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def test_the_quick_suite_records_demos_trains_each_method_and_writes_the_table_and_curve(tmp_path):
    from PIL import Image

    sys.path.insert(0, str(EXPERIMENTS))
    try:
        import learning_suite
    finally:
        sys.path.remove(str(EXPERIMENTS))
    assert learning_suite.main(["--quick", "--runs", str(tmp_path / "runs"), "--results", str(tmp_path)]) == 0
    table = (tmp_path / "learning_suite.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| Reach |")]
    assert [row.split("|")[2].strip() for row in rows] == ["bc", "rlpd", "sac"]
    starts = [row.split("|")[6].strip() for row in rows]
    assert starts[0] == "-" and all(v.endswith("%") for v in starts[1:])  # BC has no step 0; RL methods do
    from embodia.envs.tasks.base import REWARD_REVISION

    rewards = [row.split("|")[9].strip() for row in rows]  # the reward revision each RL row was trained with
    assert rewards == ["-", f"rev. {REWARD_REVISION}", f"rev. {REWARD_REVISION}"]
    from embodia.envs.control.controllers import CONTROLLER_REVISION

    controllers = [row.split("|")[10].strip() for row in rows]  # the controller every row learnt on, BC's too
    assert controllers == [f"rev. {CONTROLLER_REVISION}"] * 3
    budget = table.split("## Budget")[1]  # what the table costs: each run's wall-clock, summed per method
    walls = {
        path.stem.split("-")[1]: json.loads(path.read_text())["train_wall_s"]
        for path in (tmp_path / "learning_suite_runs").glob("*.json")
    }
    for method, wall in walls.items():
        assert f"| {method} | 1 | {wall / 3600:.1f} |" in budget
    assert f"| all | 3 | **{sum(walls.values()) / 3600:.1f}** |" in budget
    assert (tmp_path / "runs" / "demos" / "Reach-v0-dart0.1-successes" / "summary.json").exists()
    pixels = np.asarray(Image.open(tmp_path / "learning_suite_Reach.png").convert("L"))
    assert pixels.shape[0] > 100 and pixels.std() > 5  # a drawn plot, not a blank image
    # every row survives its run folder (checkpoints stay on the machine that trained; the results are committed)
    kept = sorted(path.name for path in (tmp_path / "learning_suite_runs").glob("*.json"))
    assert kept == ["Reach-bc-s0.json", "Reach-rlpd-s0.json", "Reach-sac-s0.json"]
    (tmp_path / "runs").rename(tmp_path / "elsewhere")
    assert learning_suite.main(["--report-only", "--runs", str(tmp_path / "runs"), "--results", str(tmp_path)]) == 0
    assert (tmp_path / "learning_suite.md").read_text() == table


def test_the_quick_suite_refuses_to_write_over_the_real_results():
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        import learning_suite
    finally:
        sys.path.remove(str(EXPERIMENTS))
    with pytest.raises(SystemExit):
        learning_suite.main(["--quick"])


def test_a_method_that_asks_for_pushed_demonstrations_gets_a_folder_whose_name_records_them_the_same_way(tmp_path):
    from embodia.agents.learn.config import ConfigError, TrainConfig
    from embodia.agents.learn.train import collect_command
    from embodia.envs.record.episode import package_versions

    sys.path.insert(0, str(EXPERIMENTS))
    try:
        import learning_suite
    finally:
        sys.path.remove(str(EXPERIMENTS))
    folder, suite_default = (
        tmp_path / "BinPicking-v0-dart0.3-push0.05-successes-200",
        tmp_path / "Reach-v0-dart0.1-successes",
    )
    for recorded in (folder, suite_default):
        recorded.mkdir()
        (recorded / "summary.json").write_text("{}")  # already recorded: found, not recorded again
        (recorded / "meta.json").write_text(json.dumps({"versions": package_versions()}))
    assert learning_suite.demo_folder("BinPicking", tmp_path, 200, 0.3, 0.05) == folder
    assert learning_suite.demo_folder("Reach", tmp_path, 50, 0.1, 0.0) == suite_default  # the suite's names stay
    # recorded with the first controller (its versions name none): refused, not reused or recorded over
    older = {k: v for k, v in package_versions().items() if k != "controller"}
    (suite_default / "meta.json").write_text(json.dumps({"versions": older}))
    with pytest.raises(SystemExit, match="recorded with the arm controllers' revision 1, this embodia's is 2"):
        learning_suite.demo_folder("Reach", tmp_path, 50, 0.1, 0.0)
    assert (suite_default / "summary.json").exists()
    command = collect_command("embodia/BinPicking-v0", TrainConfig(demos=str(folder), demo_episodes=200))
    assert "--noise 0.3 --pushes 0.05 --successes-only --episodes 200" in command
    for bad in ({"demo_noise": -0.1}, {"demo_pushes": 1.5}, {"demo_noise": float("nan")}):
        with pytest.raises(ConfigError, match=f"{next(iter(bad))}=.* must be"):
            TrainConfig(**bad)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--quick", "--tasks", "BinPicking"],
            "--quick runs its own set (Reach; bc, rlpd and sac; seed 0): drop --tasks",
        ),
        (["--quick", "--seeds", "3"], "drop --seeds"),
        (["--seeds", "-1", "--report-only"], "argument --seeds: a seed is 0 or more, got -1"),
        (["--methods", "ppo_fast", "--report-only"], "unknown method ppo_fast; valid: bc, "),
    ],
)
def test_arguments_the_suite_would_ignore_or_fail_on_later_are_refused_in_one_line(argv, message, tmp_path, capsys):
    """--quick used to replace --tasks silently (a BinPicking run that trained Reach); a negative seed failed
    deep inside the learner."""
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        import learning_suite
    finally:
        sys.path.remove(str(EXPERIMENTS))
    folders = ["--runs", str(tmp_path / "runs"), "--results", str(tmp_path / "results")]
    with pytest.raises(SystemExit) as stop:
        learning_suite.main([*argv, *folders])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]
    assert not (tmp_path / "results").exists()  # nothing run, nothing written
