"""BedBathing: the cleaning rule (near a point and within the force band), safety accounting, config errors, the
compliant sponge and the expert.

check_env, determinism (single vs vector) and exact replay run for every registered task in test_envs.py and
test_replay.py.
"""

import numpy as np
import pytest

from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import BatchedEnv, make_batched
from embodia.envs.human.config import HumanConfig, HumanRanges
from embodia.envs.safety import iso15066
from embodia.envs.scene import wiping_tool

TASK = "embodia/BedBathing-v0"


def make(num_sims: int = 1, **kwargs) -> BatchedEnv:
    return make_batched(TASK, num_sims, **kwargs)


def run_expert(env: BatchedEnv, seeds: list[int], steps: int | None = None) -> dict[str, np.ndarray]:
    """Run the scripted expert from ``seeds``; per-episode figures up to each episode's end."""
    n = len(seeds)
    expert = make_expert(TASK, n)
    obs, info = env.reset(seeds=seeds)
    expert.reset(np.arange(n))
    done = np.zeros(n, dtype=bool)
    out = {
        "success": np.zeros(n, dtype=bool),
        "fail": np.zeros(n, dtype=bool),
        "peak_n": np.zeros(n),
        "transient": np.zeros(n, dtype=bool),
        "touched_near_point": np.zeros(n, dtype=bool),
        "cleaned_fraction": np.zeros(n),
        "violated": np.zeros(n, dtype=bool),
        "cleaned_outside_band": np.zeros(n, dtype=bool),
    }
    cleaned_before = info["state"]["cleaned"].copy()
    for _ in range(steps or env.config.episode_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        live = ~done
        state = info["state"]
        out["peak_n"][live] = np.maximum(out["peak_n"][live], info["safety"]["max_contact_force_n"][live])
        out["transient"] |= live & info["safety"]["transient_exceeded"]
        near = np.linalg.norm(state["points_pos"] - state["face_pos"][:, None], axis=2).min(axis=1) < 0.02
        out["touched_near_point"] |= live & near & (info["arm_force_n"] > 0.5)
        newly = (state["cleaned"] & ~cleaned_before).any(axis=1)
        out["cleaned_outside_band"] |= live & newly & ~info["force_in_band"]
        cleaned_before = state["cleaned"].copy()
        out["cleaned_fraction"][live] = info["cleaned_fraction"][live]
        out["violated"][live] = info["violated"][live]
        out["success"] |= live & info["success"]
        out["fail"] |= live & info["fail"]
        done |= terminated | truncated
        if done.all():
            break
    return out


def test_points_lie_on_the_top_of_the_arm_surface():
    env = make(4)
    _, info = env.reset(seeds=[0, 1, 2, 3])
    task = env.task
    points = info["state"]["points_pos"]
    assert points.shape == (4, env.config.num_points, 3)
    radii = env.sim.per_sim_model_field("geom_size")[:, task.segment_geoms, 0]  # each simulation's person's
    for seg, body in enumerate(task.segment_bodies):
        radius = radii[:, seg][:, None]
        length = task.person.segment_lengths_m(np.arange(4), ("forearm", "upper_arm")[seg])[:, None]
        mask = task.point_segment == seg
        start = env.sim.xpos[:, body]
        axis = -env.sim.xmat[:, body].reshape(4, 3, 3)[:, :, 2]  # the segment runs along its -z
        rel = points[:, mask] - start[:, None]
        along = (rel * axis[:, None]).sum(axis=2)
        radial = rel - along[..., None] * axis[:, None]
        np.testing.assert_allclose(np.linalg.norm(radial, axis=2), np.broadcast_to(radius, (4, mask.sum())), atol=1e-9)
        assert (along > 0).all() and (along < length).all()
        # on the top of the arm: within around_top_rad of straight up, plus the arm's own roll and slope
        up = radial[..., 2] / radius
        assert (up > np.cos(env.config.around_top_rad + 0.3)).all()


def test_the_sponge_is_a_spring():
    """Pressed on the arm, the sponge gives way by force / stiffness (within the contact's own softness)."""
    env = make(1, tremor=False, voluntary_motion=False)
    out = {"compression": [], "force": []}
    expert = make_expert(TASK, 1)
    obs, info = env.reset(seeds=[5])
    expert.reset(np.arange(1))
    for _ in range(80):
        obs, _, _, _, info = env.step(expert.act(obs, info))
        out["compression"].append(info["sponge_compression_m"][0])
        out["force"].append(info["arm_force_n"][0])
    force, compression = np.array(out["force"]), np.array(out["compression"])
    pressing = force > 2.0
    assert pressing.sum() > 10
    stiffness = force[pressing] / np.maximum(compression[pressing], 1e-6)
    assert np.median(stiffness) == pytest.approx(wiping_tool.SPONGE_STIFFNESS_N_PER_M, rel=0.35)


def test_a_point_counts_only_when_pressed_within_the_force_band():
    seeds = [11, 12]
    gentle = run_expert(make(2), seeds)
    assert (gentle["cleaned_fraction"] == 1.0).all() and gentle["success"].all()
    assert not gentle["cleaned_outside_band"].any()
    # the same wipe with a band the gentle expert never reaches: it touches the points, yet none is cleaned
    strict = run_expert(make(2, force_band_n=(40.0, 50.0)), seeds, steps=150)
    assert strict["touched_near_point"].all()
    assert (strict["cleaned_fraction"] == 0.0).all() and not strict["success"].any()


def test_safety_accounting_reads_the_wiping_force_and_a_violation_blocks_success():
    env = make(1, safety_limit_scale=1e-3)  # every arm limit far below the wiping force
    out = run_expert(env, [3])
    assert out["peak_n"][0] > 1.0
    assert out["violated"][0] and out["cleaned_fraction"][0] >= 0.9 and not out["success"][0]
    env = make(1, safety_limit_scale=1e-3, terminate_on_safety_violation=True)
    out = run_expert(env, [3])
    assert out["fail"][0] and out["violated"][0] and out["cleaned_fraction"][0] < 0.5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_points": 1}, "num_points=1"),
        ({"force_band_n": (5.0, 2.0)}, "force_band_n"),
        ({"success_fraction": 1.5}, "success_fraction=1.5"),
        ({"forearm_span": (0.5, 1.2)}, "forearm_span"),
        ({"clean_radius_m": 0.0}, "clean_radius_m=0.0"),
        ({"human": HumanRanges(structure=HumanConfig(posture="seated_chair"))}, "posture='seated_chair'"),
    ],
)
def test_bad_config_raises_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(1, **kwargs)


def test_expert_cleans_the_arm_gently():
    seeds = list(range(400, 412))
    env = make(len(seeds))
    out = run_expert(env, seeds)
    assert out["success"].all(), out["success"]
    assert not out["transient"].any() and not out["violated"].any()
    assert out["peak_n"].max() < env.config.force_band_n[1]  # never harder than the band, anywhere on the person
    assert env.config.force_band_n[1] < iso15066.region("lower_arm").quasi_static_force_n / 10
