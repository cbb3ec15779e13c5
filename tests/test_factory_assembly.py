"""Assembly tasks (PegInsertion, NutBolt, GearAssembly): geometry, kwargs, success figures, experts at their limits.

check_env, determinism and the 16-seed expert sample run for every registered task in test_envs.py and
test_experts.py; this file covers what is particular to these tasks.
"""

import numpy as np
import pytest

from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import make_batched


def run_expert(task_id: str, seeds: list[int], **kwargs):
    """Run the task's expert until every episode ends; returns (env, success, rewards per step, last info)."""
    n = len(seeds)
    env = make_batched(task_id, n, **kwargs)
    expert = make_expert(task_id, n)
    obs, info = env.reset(seeds=seeds)
    expert.reset(np.arange(n))
    done = np.zeros(n, dtype=bool)
    success = np.zeros(n, dtype=bool)
    rewards, infos = [], []
    for _ in range(env.config.episode_steps):
        obs, reward, terminated, truncated, info = env.step(expert.act(obs, info))
        rewards.append(np.where(done, np.nan, reward))
        infos.append(info)
        success |= ~done & info["success"]
        done |= terminated | truncated
        if done.all():
            break
    return env, success, np.array(rewards), infos


# ------------------------------------------------------------------------------------------ PegInsertion
PEG = "embodia/PegInsertion-v0"


@pytest.mark.parametrize("clearance_m", [0.0001, 0.01, -0.001])
def test_peg_clearance_out_of_range_raises_naming_the_value(clearance_m):
    with pytest.raises(ValueError, match="clearance_m"):
        make_batched(PEG, 1, clearance_m=clearance_m)


@pytest.mark.parametrize("clearance_m", [0.0005, 0.002])
def test_hole_bore_is_peg_radius_plus_clearance(clearance_m):
    from embodia.envs.tasks.factory.peg_insertion import PEG_RADIUS_M, WALL_M

    env = make_batched(PEG, 1, clearance_m=clearance_m)
    model = env.model
    walls = [
        g
        for g in range(model.ngeom)
        if model.geom(g).name.startswith("hole_wall_") and "chamfer" not in model.geom(g).name
    ]
    assert len(walls) == 16
    for g in walls:
        inner_face_m = np.linalg.norm(model.geom_pos[g][:2]) - model.geom_size[g][0]
        assert inner_face_m == pytest.approx(PEG_RADIUS_M + clearance_m, abs=1e-9)
        assert model.geom_size[g][0] == pytest.approx(WALL_M / 2)
        assert model.geom_margin[g] == 0.0


def test_peg_on_the_bench_is_not_inserted():
    env = make_batched(PEG, 2)
    _, info = env.reset(seeds=[0, 1])
    assert not info["success"].any() and not info["seated"].any()
    assert (info["insertion_depth_m"] < 0.04).all() and (info["lateral_error_m"] > 0.1).all()
    assert (info["clearance_m"] == 0.001).all()


def test_peg_expert_inserts_at_half_a_millimetre_clearance():
    _, success, _, infos = run_expert(PEG, list(range(500, 508)), clearance_m=0.0005)
    assert success.sum() >= 7, success
    final = infos[-1]
    from embodia.envs.tasks.factory.peg_insertion import HOLE_DEPTH_M

    seated = final["seated"]
    assert (final["insertion_depth_m"][seated] > HOLE_DEPTH_M - 0.003).all()
    assert (final["lateral_error_m"][seated] < 0.0015).all()


def test_peg_sparse_reward_is_one_only_on_success_and_dense_reward_climbs():
    _, success, sparse, infos = run_expert(PEG, [7, 8], reward_mode="sparse")
    flags = np.array([i["success"] for i in infos])
    assert success.all()
    valid = ~np.isnan(sparse)
    assert np.array_equal(sparse[valid], flags[valid].astype(float))
    _, _, dense, _ = run_expert(PEG, [7, 8])
    first, last = dense[0], np.array([d[~np.isnan(d)][-1] for d in dense.T])
    assert (last > first + 5.0).all()  # success (5) on top of reach, grasp, align and insert


# ------------------------------------------------------------------------------------------ NutBolt
NUT = "embodia/NutBolt-v0"


def test_nut_on_the_bench_is_not_seated_and_its_inertia_follows_its_mass():
    env = make_batched(NUT, 3)
    _, info = env.reset(seeds=[0, 1, 2])
    assert not info["success"].any() and not info["seated"].any()
    assert (info["nut_height_m"] < -0.01).all()  # on the bench, below the bolt's head
    body = env.task.nut_body
    mass = env.sim.per_sim_model_field("body_mass")[:, body]
    inertia = env.sim.per_sim_model_field("body_inertia")[:, body]
    low, high = env.config.nut_mass_kg
    assert ((mass >= low) & (mass <= high)).all() and len(set(mass.tolist())) == 3
    assert np.allclose(inertia / mass[:, None], env.model.body_inertia[body] / env.model.body_mass[body])


def test_nut_bolt_expert_seats_the_nut_on_the_head():
    _, success, _, infos = run_expert(NUT, list(range(600, 608)))
    assert success.sum() >= 8, success
    seated_at_success = [np.flatnonzero(i["success"]) for i in infos]
    heights = np.concatenate([i["nut_height_m"][k] for i, k in zip(infos, seated_at_success, strict=True)])
    assert (np.abs(heights) < 0.003).all()
