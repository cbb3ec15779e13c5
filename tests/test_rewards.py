"""Every task's dense reward pays for finishing: the expert out-earns its own path held still before success."""

from __future__ import annotations

import numpy as np
import pytest

from embodia.agents.reward_audit import held_path_returns
from embodia.envs.core.batched_env import make_batched
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
