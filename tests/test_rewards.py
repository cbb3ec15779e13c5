"""Every task's dense reward pays for finishing: the expert out-earns its own path held still before success."""

from __future__ import annotations

import numpy as np
import pytest

from embodia.agents.reward_audit import SETTLE_STEPS, expert_reward_path, held_path_returns
from embodia.envs.core.batched_env import make_batched
from embodia.envs.tasks.base import approach, drop_line_distance, lowering, tolerance
from embodia.envs.tasks.registry import TASKS


@pytest.mark.parametrize("env_id", list(TASKS))
def test_finishing_out_earns_holding_still_at_any_point_before_success(env_id):
    audit = held_path_returns(env_id, seed=0, hold_points=6)
    stalls = [r for r, ok in zip(audit.held_returns, audit.held_succeeded, strict=True) if not ok]
    assert stalls, f"every held path of {env_id} still succeeded: nothing was tested"
    assert audit.expert_return > max(stalls), audit
    assert audit.expert_return > audit.any_step_estimate, audit
    # a held path that still succeeds finishes later, which pays no more
    finishes = [r for r, ok in zip(audit.held_returns, audit.held_succeeded, strict=True) if ok]
    assert all(audit.expert_return >= r - 1e-9 for r in finishes), audit


def test_the_success_step_pays_the_rest_of_the_episode_at_the_full_rate():
    env = make_batched("embodia/Reach-v0", 1)
    full_rate, steps = sum(env.reward_weights.values()), env.config.episode_steps
    terms = {name: np.array([0.5, 0.5]) for name in env.reward_weights}
    reward = env.config.dense_reward(terms, success=np.array([False, True]), elapsed=np.array([10, 10]))
    assert reward[0] == pytest.approx(0.5 * full_rate)
    assert reward[1] == pytest.approx(full_rate * (steps - 10 + 1))  # step 10 and the steps after it
    env.close()


def test_without_termination_on_success_the_reward_is_the_plain_weighted_sum():
    env = make_batched("embodia/Reach-v0", 1, terminate_on_success=False)
    terms = {name: np.array([1.0]) for name in env.reward_weights}
    reward = env.config.dense_reward(terms, success=np.array([True]), elapsed=np.array([10]))
    assert reward[0] == pytest.approx(sum(env.reward_weights.values()))
    env.close()


def test_a_penalty_is_not_part_of_the_full_rate_and_still_costs_on_the_success_step():
    env = make_batched("embodia/Handover-v0", 1, safety_penalty=2.0)
    weights = env.reward_weights
    assert weights["safety"] == -2.0
    full_rate, steps = sum(w for w in weights.values() if w > 0), env.config.episode_steps
    terms = {name: np.array([1.0]) for name in weights}  # every term at 1: the safety term says "violated"
    reward = env.config.dense_reward(terms, success=np.array([True]), elapsed=np.array([steps]))
    assert reward[0] == pytest.approx(full_rate - 2.0)
    env.close()


def test_reach_tells_a_learner_which_way_to_go_from_anywhere_in_the_work_cell():
    env = make_batched("embodia/Reach-v0", 2)
    far = np.array([0.45, 0.55])  # targets start up to 60 cm from the hand, where the reach term is flat
    terms = env.task.reward_terms(env.sim, {"tcp_to_target_m": far, "success": np.zeros(2, dtype=bool)})
    assert terms["reach"][0] - terms["reach"][1] < 0.002
    assert terms["approach"][0] - terms["approach"][1] > 0.05  # 10 cm closer pays noticeably more
    env.close()


@pytest.mark.parametrize("env_id", list(TASKS))
def test_every_stage_of_the_experts_path_pays_at_least_what_the_stage_before_it_did(env_id):
    # lowering a part from above its slot into it, or letting go of it there, paid up to 23% of the full rate less
    # than hovering above the slot holding it (BinPicking, Handover, FetchDropped): a learner that is paid less for
    # going on stops where it is
    path = expert_reward_path(env_id, seed=0)
    assert len(path.shares) > SETTLE_STEPS, "the expert succeeded too soon for a path to be measured"
    assert path.drawdown < 0.1, path.drawdown


def test_carry_terms_tell_a_learner_which_way_to_go_from_across_the_work_cell():
    far = np.array([0.45, 0.55])  # a part lifted out of a bin is 30-60 cm from the line above its slot
    assert approach(far, 0.10)[0] - approach(far, 0.10)[1] > 0.02  # 10 cm closer pays noticeably more
    assert tolerance(far, 0.10)[0] - tolerance(far, 0.10)[1] < 0.001  # the fine term alone is flat there
    assert approach(np.zeros(1), 0.10)[0] == 1.0


def test_placing_tells_a_learner_to_go_down_from_the_carry_waypoint():
    # reward revision 3's place term, a 3 cm tolerance alone, rose by 0.9% of the term for the first centimetre down
    # from the waypoint 8 cm above the slot: BinPicking's PPO held its part there
    from embodia.envs.tasks import criteria

    waypoint, lower = np.array([criteria.CARRY_ABOVE_GOAL_M]), np.array([criteria.CARRY_ABOVE_GOAL_M - 0.01])
    assert tolerance(lower, criteria.PLACE_SCALE_M)[0] - tolerance(waypoint, criteria.PLACE_SCALE_M)[0] < 0.01
    assert lowering(lower)[0] - lowering(waypoint)[0] > 0.03
    assert lowering(np.zeros(1))[0] == 1.0 and np.all(np.diff(lowering(np.linspace(0, 0.3, 31))) < 0)


def test_the_drop_line_runs_from_the_goal_up_to_the_carry_height_along_the_given_axis():
    goal = np.zeros((4, 3))
    pos = np.array([[0.0, 0.0, 0.05], [0.03, 0.0, 0.05], [0.0, 0.0, 0.20], [0.0, 0.0, -0.01]])
    np.testing.assert_allclose(drop_line_distance(pos, goal, 0.08), [0.0, 0.03, 0.12, 0.01], atol=1e-12)
    sideways = np.tile([1.0, 0.0, 0.0], (4, 1))  # a palm facing sideways: the line runs along +x
    np.testing.assert_allclose(drop_line_distance(pos[:, [2, 1, 0]], goal, 0.08, sideways), [0.0, 0.03, 0.12, 0.01])


#: the factory tasks whose success needs the jaws open, and the predicate under which opening them pays
RELEASE_AFTER = {
    "embodia/BinPicking-v0": lambda info, task: info["in_slot"],
    "embodia/PegInsertion-v0": lambda info, task: info["seated"],
    "embodia/GearAssembly-v0": lambda info, task: info["seated"],
    "embodia/NutBolt-v0": lambda info, task: info["screwed"],
    "embodia/Palletizing-v0": lambda info, task: info["next_box"] == task.num_boxes,  # the last carton placed
}


@pytest.mark.parametrize("env_id", list(RELEASE_AFTER))
def test_a_placed_part_pays_for_opening_the_jaws_step_by_step_up_to_released(env_id):
    # before reward revision 3 letting go was paid by success alone: a learner holding a placed part closed was told
    # nothing about which way to move its gripper (BinPicking's PPO never opened its jaws in its slot)
    from embodia.agents.experts import make_expert

    env = make_batched(env_id, 1)
    expert = make_expert(env_id, 1)
    obs, info = env.reset(seeds=[0])
    expert.reset(np.arange(1))
    paid, placed, success = [], [], False
    for _ in range(env.config.episode_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        paid.append(float(info["reward_terms"]["release"][0]))
        placed.append(bool(RELEASE_AFTER[env_id](info, env.task)[0]))
        success = bool(info["success"][0])
        if terminated[0] or truncated[0]:
            break
    env.close()
    assert success, "the expert did not finish: nothing was tested"
    paid, placed = np.array(paid), np.array(placed)
    assert np.all(paid[~placed] == 0.0)  # the jaws pay only once the part is placed
    assert paid[-1] == 1.0  # released at success
    assert np.any((paid > 0.0) & (paid < 1.0)), "opening paid all at once: not dense"
    assert np.all(np.diff(paid[placed]) >= -1e-9)  # opening, never closing again


def test_release_progress_runs_from_the_parts_width_to_released():
    from embodia.envs.physics.robot import RELEASED_MARGIN_M

    env = make_batched("embodia/BinPicking-v0", 3)
    width = env.task.robot.gripper_width(env.sim)
    progress = env.task.robot.release_progress(env.sim, width - np.array([-0.5, 0.5, 1.5]) * RELEASED_MARGIN_M)
    np.testing.assert_allclose(progress, [0.0, 0.5, 1.0])  # jaws narrower than the part, half-way, past released
    env.close()
