"""The pick-and-place expert's ``turn_within_m``: the jaws turn to the part near it, not on the way, and the
expert still finishes; ``pregrasp_open_m``: the jaws come down on the part that wide open; options an expert does
not take are refused by name."""

from __future__ import annotations

import numpy as np
import pytest

from embodia.agents.experts import expert_options, make_expert
from embodia.agents.experts.motion import jaw_yaw
from embodia.agents.experts.pick_place import APPROACH, PickPlaceTiming
from embodia.agents.learn.collect import demo_folder_name
from embodia.envs.core.batched_env import make_batched
from embodia.envs.scene.angles import wrap

BIN_PICKING = "embodia/BinPicking-v0"
SIMS = 12
FAR_M = 0.08  # the TCP this far or further from the pre-grasp point counts as on the way


def turns_on_the_way(**options) -> tuple[np.ndarray, np.ndarray]:
    """(degrees the jaws turned during the approach while far from the pre-grasp point, success) per simulation."""
    env = make_batched(BIN_PICKING, SIMS)
    expert = make_expert(BIN_PICKING, SIMS, **options)
    obs, info = env.reset(seeds=list(range(40, 40 + SIMS)))
    turned, success, done = np.zeros(SIMS), np.zeros(SIMS, dtype=bool), np.zeros(SIMS, dtype=bool)
    approach_height = expert.timing.approach_height_m
    for _ in range(300):
        state = info["state"]
        before = jaw_yaw(state["tcp_xmat"])
        pregrasp = state["part_pos"] + [0.0, 0.0, approach_height]
        far = (np.linalg.norm(pregrasp - state["tcp_pos"], axis=1) > FAR_M) & (expert.phase == APPROACH) & ~done
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        turned += np.where(far, np.abs(wrap(jaw_yaw(info["state"]["tcp_xmat"]) - before, 2 * np.pi)), 0.0)
        success |= ~done & info["success"]
        done |= terminated | truncated
        if done.all():
            break
    env.close()
    return np.degrees(turned), success


def test_the_jaws_turn_near_the_part_not_on_the_way_and_the_expert_still_finishes():
    default_turn, default_success = turns_on_the_way()
    late_turn, late_success = turns_on_the_way(turn_within_m=0.04)
    assert default_success.all() and late_success.all()
    assert default_turn.max() > 20.0  # the default expert turns while it travels (the parts' yaws are random)
    assert late_turn.max() < 2.0  # within 4 cm only: on the way the yaw is held


def test_expert_options_are_the_experts_own_and_others_are_refused_by_name():
    assert expert_options(BIN_PICKING) == ("turn_within_m", "pregrasp_open_m")
    assert expert_options("embodia/Reach-v0") == ()
    with pytest.raises(ValueError, match=r"expert option\(s\) turn_rate not valid .* valid: turn_within_m, pregrasp"):
        make_expert(BIN_PICKING, 1, turn_rate=1.0)
    with pytest.raises(ValueError, match=r"turn_within_m=-0.1 is not valid; valid: a distance >= 0"):
        PickPlaceTiming(turn_within_m=-0.1)
    for opening in (-0.01, 0.09, float("nan")):
        with pytest.raises(ValueError, match=r"pregrasp_open_m=.* is not valid; valid: 0 .* to 0.08 m"):
            PickPlaceTiming(pregrasp_open_m=opening)


def test_the_demo_folder_says_the_turn_distance():
    assert demo_folder_name("BinPicking", 0.3, 0.0, True, 200, 0.04) == "BinPicking-v0-dart0.3-turn0.04-successes-200"
    assert demo_folder_name("BinPicking", 0.3, 0.0, True, 200) == "BinPicking-v0-dart0.3-successes-200"
    wide = demo_folder_name("BinPicking", 0.3, 0.0, True, 200, 0.04, 0.08)
    assert wide == "BinPicking-v0-dart0.3-turn0.04-open0.08-successes-200"


def jaw_width_at_first_close(**options) -> tuple[np.ndarray, np.ndarray]:
    """(the jaws' width in metres when the expert first commands them closed, success) per simulation."""
    env = make_batched(BIN_PICKING, SIMS)
    expert = make_expert(BIN_PICKING, SIMS, **options)
    obs, info = env.reset(seeds=list(range(40, 40 + SIMS)))
    width, success, done = np.full(SIMS, np.nan), np.zeros(SIMS, dtype=bool), np.zeros(SIMS, dtype=bool)
    for _ in range(300):
        action = expert.act(obs, info)
        first_close = np.isnan(width) & (action[:, 6] < 0) & ~done
        width[first_close] = info["state"]["gripper_width"][first_close]
        obs, _, terminated, truncated, info = env.step(action)
        success |= ~done & info["success"]
        done |= terminated | truncated
        if done.all():
            break
    env.close()
    return width, success


def test_the_jaws_come_down_on_the_part_as_wide_as_asked_and_the_expert_still_finishes():
    own_width, own_success = jaw_width_at_first_close()
    wide_width, wide_success = jaw_width_at_first_close(pregrasp_open_m=0.075)
    assert own_success.all() and wide_success.all()
    assert own_width.max() < 0.065  # the part's width and 18 mm: 48-58 mm
    assert wide_width.min() > 0.07  # nearly the hand's full stroke (at 80 mm, seed 40's finger meets the bin's wall)


@pytest.mark.parametrize("options", [{"turn_within_m": -0.1}, {"turn_within_m": float("nan")}, {"turn_rate": 1.0}])
def test_an_expert_option_that_is_not_valid_is_refused_before_the_demo_folder_is_written(tmp_path, options):
    from embodia.agents.learn.collect import collect_demonstrations

    with pytest.raises(ValueError, match="not valid"):
        collect_demonstrations(BIN_PICKING, 2, tmp_path / "demos", expert_options=options)
    assert not (tmp_path / "demos").exists()
