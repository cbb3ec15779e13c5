"""FetchDropped: the task's figures (on the table, within reach), safety accounting, config errors and the expert.

check_env, determinism (single vs vector) and exact replay run for every registered task in test_envs.py and
test_replay.py.
"""

import numpy as np
import pytest

from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import BatchedEnv, make_batched
from embodia.envs.human import anthropometry
from embodia.envs.human.config import SEXES, HumanConfig, HumanRanges
from embodia.envs.safety import iso15066
from embodia.envs.scene import overbed_table
from embodia.envs.scene.parts import yaw_quat
from embodia.envs.tasks.care import fetch_dropped as fd

TASK = "embodia/FetchDropped-v0"
OPEN_JAWS = np.array([[0, 0, 0, 0, 0, 0, 1.0]])
STILL = {"tremor": False, "voluntary_motion": False}


def make(num_sims: int = 1, **kwargs) -> BatchedEnv:
    return make_batched(TASK, num_sims, **kwargs)


def put_remote(env: BatchedEnv, position: np.ndarray, yaw: float = 0.0) -> None:
    task, sim = env.task, env.sim
    sim.qpos[0, task.remote_qpos : task.remote_qpos + 3] = position
    sim.qpos[0, task.remote_qpos + 3 : task.remote_qpos + 7] = yaw_quat(np.array([yaw]))[0]
    sim.qvel[0, task.remote_dof : task.remote_dof + 6] = 0.0
    sim.forward(np.array([0]))


def settle(env: BatchedEnv, steps: int = 15) -> dict:
    for _ in range(steps):
        _, _, terminated, _, info = env.step(OPEN_JAWS)
        if terminated[0]:
            break
    return info


def test_the_remote_on_the_place_spot_counts_on_the_floor_or_out_of_reach_not():
    env = make(1, **STILL)
    _, info = env.reset(seeds=[3])
    assert not (info["on_table"][0] or info["success"][0])  # it starts on the floor
    state = env.task.privileged_state(env.sim)
    put_remote(env, state["place_pos"][0] + [0, 0, 0.003])
    info = settle(env)
    assert info["on_table"][0] and info["within_reach"][0] and info["success"][0]

    _, info = env.reset(seeds=[3])
    state = env.task.privileged_state(env.sim)
    away = state["top_x_axis"][0] * -(overbed_table.TOP_HALF_SIZE_M[0] - 0.04)  # the robot's edge of the top
    put_remote(env, state["top_pos"][0] + away + [0, 0, fd.REMOTE_HALF_SIZE_M[2] + 0.003], yaw=np.pi / 2)
    info = settle(env)
    assert info["on_table"][0] and not info["within_reach"][0] and not info["success"][0]
    assert info["shoulder_to_remote_m"][0] > env.config.reach_fraction * env.task.arm_reach_m


def test_the_arm_reach_follows_drillis_and_contini():
    env = make(4)
    _, info = env.reset(seeds=[0, 1, 2, 3])
    human = info["human"]
    people = zip(human["sex"], human["stature_percentile"], strict=True)
    stature_m = [anthropometry.stature_m(SEXES[int(sex)], percentile) for sex, percentile in people]
    np.testing.assert_allclose(env.task.arm_reach_m, (0.186 + 0.146 + 0.108 / 2) * np.array(stature_m))
    assert (
        len(set(env.task.arm_reach_m.tolist())) == 4
        and ((env.task.arm_reach_m > 0.5) & (env.task.arm_reach_m < 0.7)).all()
    )


def remote_on_forearm(env: BatchedEnv) -> None:
    middle = env.sim.site_xpos[0, env.sim.model.site("person_right_forearm").id]
    wrist = env.sim.xpos[0, env.sim.model.body("person_right_hand").id]
    put_remote(env, (middle + wrist) / 2 + np.array([0, 0, 0.06]))  # clear of the elbow, where it would touch both


def test_a_remote_dropped_on_the_forearm_weighs_on_the_lower_arm():
    env = make(1, **STILL)
    env.reset(seeds=[1])
    remote_on_forearm(env)
    peak = {name: 0.0 for name in iso15066.REGION_NAMES}
    for _ in range(10):
        _, _, _, _, info = env.step(OPEN_JAWS)
        for name in peak:
            peak[name] = max(peak[name], float(info["safety"]["force_n"][name][0]))
    assert max(peak, key=peak.get) == "lower_arm"
    assert peak["lower_arm"] > 0.3


def test_a_tiny_safety_limit_ends_the_episode_on_contact():
    env = make(1, **STILL, safety_limit_scale=1e-3, terminate_on_safety_violation=True)
    env.reset(seeds=[1])
    remote_on_forearm(env)
    for _ in range(10):
        _, _, terminated, _, info = env.step(OPEN_JAWS)
        if terminated[0]:
            break
    assert info["safety"]["quasi_static_exceeded"][0] and info["fail"][0] and terminated[0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"remote_radius_m": (0.2, 0.5)}, "remote_radius_m"),
        ({"remote_bearing_rad": (-0.8, -1.0)}, "remote_bearing_rad"),
        ({"remote_mass_kg": (-0.1, 0.1)}, "remote_mass_kg"),
        ({"table_top_z_range": (0.7, 1.0)}, "table_top_z_range"),
        ({"reach_fraction": 1.5}, "reach_fraction=1.5"),
        ({"table_jitter_m": 0.2}, "table_jitter_m=0.2"),
        ({"human": HumanRanges(structure=HumanConfig(posture="supine_bed"))}, "posture='supine_bed'"),
    ],
)
def test_bad_config_raises_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(1, **kwargs)


def run_expert(env: BatchedEnv, seeds: list[int], before=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(seeds)
    expert = make_expert(TASK, n)
    obs, info = env.reset(seeds=seeds)
    if before is not None:  # the expert reads the object's pose only once it has moved off the over-bed table
        before(env)
    expert.reset(np.arange(n))
    done = np.zeros(n, dtype=bool)
    success = np.zeros(n, dtype=bool)
    peak_n = np.zeros(n)
    transient = np.zeros(n, dtype=bool)
    for _ in range(env.config.episode_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        live = ~done
        peak_n[live] = np.maximum(peak_n[live], info["safety"]["max_contact_force_n"][live])
        transient[live] |= info["safety"]["transient_exceeded"][live]
        success |= live & info["success"]
        done |= terminated | truncated
        if done.all():
            break
    return success, peak_n, transient


def test_expert_fetches_the_remote_safely():
    env = make(8)
    success, peak_n, transient = run_expert(env, list(range(500, 508)))
    assert success.all(), success
    assert not transient.any()
    assert peak_n.max() < iso15066.limit_array("quasi_static_force_n").min()


def test_expert_fetches_a_remote_partly_under_the_bedside_table():
    """At the far end of the ranges, lying along y, the remote's end is under the bedside table's top: the hand
    comes in low and slides it out before lifting."""
    env = make(1, remote_radius_m=(0.53, 0.53), remote_bearing_rad=(-1.15, -1.15))

    def along_y(env: BatchedEnv) -> None:
        task = env.task
        centre = env.sim.qpos[0, task.remote_qpos : task.remote_qpos + 3].copy()
        put_remote(env, centre, yaw=np.pi / 2)
        end_y = centre[1] - fd.REMOTE_HALF_SIZE_M[0]
        assert end_y < fd.BEDSIDE_CENTER_XY[1] + fd.BEDSIDE_HALF_XY[1] - 0.05  # 5 cm or more under the top

    success, _, _ = run_expert(env, [11], before=along_y)
    assert success.all()


def test_the_dense_reward_climbs_along_the_experts_episode():
    env = make(1)
    expert = make_expert(TASK, 1)
    obs, info = env.reset(seeds=[2])
    expert.reset(np.arange(1))
    rewards, grasped = [], []
    for _ in range(env.config.episode_steps):
        obs, reward, terminated, _, info = env.step(expert.act(obs, info))
        rewards.append(float(reward[0]))
        grasped.append(bool(info["grasped"][0]))
        if terminated[0]:
            break
    assert info["success"][0]
    first_grasp = grasped.index(True)
    start, holding, end = rewards[0], rewards[first_grasp], rewards[-1]
    assert 0.01 < start < holding < end  # reach already pays at the start, about 1 m away
