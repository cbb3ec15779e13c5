"""DrawerFetch: the drawer's friction, the task's figures, safety accounting, config errors and the expert.

check_env, determinism (single vs vector) and exact replay run for every registered task in test_envs.py and
test_replay.py.
"""

import mujoco
import numpy as np
import pytest

from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import BatchedEnv, make_batched
from embodia.envs.human.config import HumanConfig, HumanRanges
from embodia.envs.safety import iso15066
from embodia.envs.tasks.care import drawer_fetch as df

TASK = "embodia/DrawerFetch-v0"


def make(num_sims: int = 1, **kwargs) -> BatchedEnv:
    return make_batched(TASK, num_sims, **kwargs)


def standalone(env: BatchedEnv, sim_id: int) -> tuple[mujoco.MjModel, mujoco.MjData]:
    """One simulation as a plain MjModel/MjData with its per-simulation drawer friction and damping."""
    model = env.sim.batch.get_model(sim_id)
    data = mujoco.MjData(model)
    mujoco.mj_setState(model, data, env.sim.state(sim_id), mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(model, data)
    return model, data


def test_drawer_holds_under_its_friction_loss_and_slides_over_it():
    env = make(1, drawer_friction_n=(6.0, 6.0), voluntary_motion=False, tremor=False)
    env.reset(seeds=[0])
    model, data = standalone(env, 0)
    qpos, dof = env.task.drawer_qpos, env.task.drawer_dof
    start = data.qpos[qpos]
    for _ in range(250):  # 0.5 s at 4 N: under the 6 N friction loss
        data.qfrc_applied[dof] = 4.0
        mujoco.mj_step(model, data)
    assert data.qpos[qpos] - start < 0.002
    for _ in range(250):  # 0.5 s at 12 N
        data.qfrc_applied[dof] = 12.0
        mujoco.mj_step(model, data)
    assert data.qpos[qpos] - start > 0.05


def place_case_on_palm(env: BatchedEnv) -> None:
    """Put the case across the palm of simulation 0, 5 mm over the thumb, as the expert leaves it."""
    task, sim = env.task, env.sim
    state = task.privileged_state(sim)
    position = state["palm_pos"][0] + state["palm_normal"][0] * (df.CASE_HALF_SIZE_M[2] + 0.02)
    yaw = np.arctan2(state["palm_across"][0, 1], state["palm_across"][0, 0])
    sim.qpos[0, task.case_qpos : task.case_qpos + 3] = position
    sim.qpos[0, task.case_qpos + 3 : task.case_qpos + 7] = [np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]
    sim.forward(np.array([0]))


def test_a_case_resting_on_the_palm_counts_and_weighs_on_the_hand():
    env = make(1, tremor=False, voluntary_motion=False)
    _, info = env.reset(seeds=[3])
    assert info["case_in_drawer"][0] and not info["case_in_hand"][0] and info["drawer_opening_m"][0] == 0.0
    place_case_on_palm(env)
    open_jaws = np.array([[0, 0, 0, 0, 0, 0, 1.0]])
    for _ in range(20):
        _, _, terminated, _, info = env.step(open_jaws)
        if terminated[0]:
            break
    assert info["case_in_hand"][0] and not info["case_in_drawer"][0]
    assert info["success"][0] and terminated[0]
    weight_n = env.sim.per_sim_model_field("body_mass")[0, env.task.case_body] * 9.81
    assert info["safety"]["force_n"]["hand"][0] == pytest.approx(weight_n, rel=0.3)


def test_a_tiny_safety_limit_ends_the_episode_on_contact():
    env = make(1, tremor=False, voluntary_motion=False, safety_limit_scale=1e-3, terminate_on_safety_violation=True)
    env.reset(seeds=[3])
    place_case_on_palm(env)
    _, _, terminated, _, info = env.step(np.zeros((1, 7)))
    assert info["safety"]["quasi_static_exceeded"][0] and info["fail"][0] and terminated[0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"opening_goal_m": 0.5}, "opening_goal_m=0.5"),
        ({"drawer_friction_n": (5.0, 2.0)}, "drawer_friction_n"),
        ({"case_mass_kg": (-0.1, 0.1)}, "case_mass_kg"),
        ({"human": HumanRanges(structure=HumanConfig(posture="supine_bed"))}, "posture='supine_bed'"),
        ({"human": HumanRanges(structure=HumanConfig(posture="seated_wheelchair"))}, "valid: seated_chair"),
    ],
)
def test_bad_config_raises_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(1, **kwargs)


def test_expert_opens_the_drawer_and_hands_over_the_case_safely():
    seeds = list(range(300, 308))
    n = len(seeds)
    env = make(n)
    expert = make_expert(TASK, n)
    obs, info = env.reset(seeds=seeds)
    expert.reset(np.arange(n))
    done = np.zeros(n, dtype=bool)
    success = np.zeros(n, dtype=bool)
    opened = np.zeros(n)
    peak_n = np.zeros(n)
    transient = np.zeros(n, dtype=bool)
    for _ in range(env.config.episode_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        live = ~done
        opened[live] = np.maximum(opened[live], info["drawer_opening_m"][live])
        peak_n[live] = np.maximum(peak_n[live], info["safety"]["max_contact_force_n"][live])
        transient[live] |= info["safety"]["transient_exceeded"][live]
        success |= live & info["success"]
        done |= terminated | truncated
        if done.all():
            break
    assert success.all(), success
    assert (opened >= env.config.opening_goal_m).all()
    assert not transient.any()
    assert peak_n.max() < iso15066.limit_array("quasi_static_force_n").min()
