"""GearAssembly: geometry and figures, meshing checked by driving the fixed gear, the expert seats and meshes.

check_env, determinism, replay and the 16-seed expert sample run for every registered task in test_envs.py,
test_replay.py and test_experts.py; this file covers what is particular to this task.
"""

import mujoco
import numpy as np
import pytest

from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import BatchedEnv, make_batched
from embodia.envs.scene import parts
from embodia.envs.scene.angles import quat_yaw, wrap
from embodia.envs.tasks.factory import gear_assembly as ga

GEAR = "embodia/GearAssembly-v0"


def run_expert(seeds: list[int], **kwargs):
    """Run the expert until every episode ends; (env, success, rewards per step, infos per step)."""
    n = len(seeds)
    env = make_batched(GEAR, n, **kwargs)
    expert = make_expert(GEAR, n)
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


def standalone(env: BatchedEnv, sim_id: int) -> tuple[mujoco.MjModel, mujoco.MjData]:
    """One simulation as a plain MjModel/MjData (its per-simulation masses and friction included)."""
    model = env.model
    for name in ("body_mass", "body_inertia", "geom_friction"):
        getattr(model, name)[:] = env.sim.per_sim_model_field(name)[sim_id]
    data = mujoco.MjData(model)
    mujoco.mj_setConst(model, data)  # as the batch does after writing masses (body_invweight etc.)
    mujoco.mj_setState(model, data, env.sim.state(sim_id), mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(model, data)
    return model, data


def arm_home(model: mujoco.MjModel, data: mujoco.MjData) -> None:
    """Put the arm back at its home pose (and commands), leaving the parts where they are."""
    home = model.key("home")
    for j in range(model.njnt):
        if model.joint(j).name.startswith("robot/"):
            adr = model.jnt_qposadr[j]
            data.qpos[adr] = home.qpos[adr]
            data.qvel[model.jnt_dofadr[j]] = 0.0
    data.ctrl[:] = home.ctrl
    mujoco.mj_forward(model, data)


def drive_fixed_gear(model, data, speed_rad_s: float, steps: int) -> tuple[float, float]:
    """Turn the fixed gear's hinge with a velocity servo (a torque of at most 0.2 N m, as a motor would); (fixed
    gear's turn, loose gear's turn), radians."""
    fixed_dof = model.jnt_dofadr[model.joint("fixed_gear").id]
    gear = model.body("gear").id
    fixed0, gear0 = data.qpos[model.jnt_qposadr[model.joint("fixed_gear").id]], quat_yaw(data.xquat[gear][None])[0]
    turned = 0.0
    previous = gear0
    for _ in range(steps):
        data.qfrc_applied[fixed_dof] = np.clip(0.5 * (speed_rad_s - data.qvel[fixed_dof]), -0.2, 0.2)
        mujoco.mj_step(model, data)
        yaw = quat_yaw(data.xquat[gear][None])[0]
        turned += wrap(yaw - previous, 2 * np.pi)
        previous = yaw
    fixed1 = data.qpos[model.jnt_qposadr[model.joint("fixed_gear").id]]
    return fixed1 - fixed0, turned


def test_gear_on_the_bench_is_not_seated_and_draws_stay_in_range():
    env = make_batched(GEAR, 3)
    _, info = env.reset(seeds=[0, 1, 2])
    assert not info["success"].any() and not info["seated"].any() and not info["meshing"].any()
    assert (info["seat_height_m"] < -0.01).all() and (info["lateral_error_m"] > 0.1).all()
    assert (np.abs(info["mesh_error_m"]) <= np.pi * ga.GEAR_PITCH_RADIUS_M / ga.GEAR_TEETH + 1e-12).all()
    body = env.task.gear_body
    mass = env.sim.per_sim_model_field("body_mass")[:, body]
    inertia = env.sim.per_sim_model_field("body_inertia")[:, body]
    low, high = env.config.gear_mass_kg
    assert ((mass >= low) & (mass <= high)).all() and len(set(mass.tolist())) == 3
    assert np.allclose(inertia / mass[:, None], env.model.body_inertia[body] / env.model.body_mass[body])
    angles = env.sim.qpos[:, env.task.fixed_qpos]
    assert len(set(angles.tolist())) == 3


def test_teeth_geometry_and_a_bad_ridge_name():
    assert ga.BACKLASH_M > 0.002  # box teeth need room to roll through mesh
    with pytest.raises(ValueError, match="point"):
        parts.add_spur_teeth(mujoco.MjSpec().worldbody, "t", 10, 0.003, 0.003, 0.0, 0.01, "m", parts.Contact(), "left")
    env = make_batched(GEAR, 1)
    model = env.model
    gear_teeth = [g for g in range(model.ngeom) if model.geom(g).name.startswith("gear_tooth_")]
    assert len(gear_teeth) == 2 * ga.GEAR_TEETH  # a tooth and its ridge each
    assert (model.geom_margin[gear_teeth] == 0).all()


@pytest.mark.parametrize("phase_offset_teeth", [0.0, 0.3, -0.3])
def test_a_gear_dropped_onto_its_shaft_slides_into_mesh(phase_offset_teeth):
    """Put the gear level just above its shaft and let it fall: in phase it drops onto the shoulder; 0.3 of a tooth
    out of phase the ridged tooth ends turn the two gears into mesh and it seats all the same. (Within ~0.05 of a
    tooth of tooth on tooth, ridge meets ridge and the gear can stand on them: the expert turns into phase.)"""
    env = make_batched(GEAR, 1)
    _, info = env.reset(seeds=[3])
    model, data = standalone(env, 0)
    arm_home(model, data)
    seat = info["state"]["shaft_seat"][0]
    yaw = info["state"]["gear_mesh_yaw"][0] + phase_offset_teeth * 2 * np.pi / ga.GEAR_TEETH
    adr = model.jnt_qposadr[model.joint("gear").id]
    data.qpos[adr : adr + 3] = seat + np.array([0.0, 0.0, ga.FIXED_BASE_Z_M - ga.SEAT_Z_M + ga.FIXED_FACE_M + 0.004])
    data.qpos[adr + 3 : adr + 7] = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]
    data.qvel[:] = 0.0
    for _ in range(400):
        mujoco.mj_step(model, data)
    gear = model.body("gear").id
    assert abs(data.xpos[gear][2] - seat[2]) < 0.003
    fixed_axis = data.xpos[model.body("fixed_gear").id]
    line = np.arctan2(seat[1] - fixed_axis[1], seat[0] - fixed_axis[0])
    fixed_angle = data.qpos[model.jnt_qposadr[model.joint("fixed_gear").id]]
    error_rad = wrap(quat_yaw(data.xquat[gear][None])[0] - ga.mesh_yaw(fixed_angle, line), 2 * np.pi / ga.GEAR_TEETH)
    assert abs(error_rad * ga.GEAR_PITCH_RADIUS_M) < ga.BACKLASH_M / 2 + 0.0005


def test_expert_seats_the_gear_in_mesh_and_turning_the_fixed_gear_turns_it_back_at_the_ratio():
    env, success, _, infos = run_expert(list(range(700, 708)))
    assert success.sum() >= 7, success
    at_success = [np.flatnonzero(i["success"]) for i in infos]
    heights = np.concatenate([i["seat_height_m"][k] for i, k in zip(infos, at_success, strict=True)])
    lateral = np.concatenate([i["lateral_error_m"][k] for i, k in zip(infos, at_success, strict=True)])
    assert (np.abs(heights) < 0.003).all() and (lateral < 0.002).all()
    # BatchedEnv does not autoreset: a succeeded simulation still holds its seated gear. Driven one by one, the
    # seated gears turn back at the ratio in most simulations; a few slip or skip a tooth (the tooth contacts are
    # the next physics issue's work), so the figure is the median over every seated gear the drive turned.
    ratios = []
    for sim_id in np.flatnonzero(success):
        model, data = standalone(env, int(sim_id))
        arm_home(model, data)  # the open jaws are still beside the hub, whose corners would strike them
        fixed_turn, gear_turn = drive_fixed_gear(model, data, speed_rad_s=2.0, steps=500)
        if fixed_turn > 0.5:  # well over a tooth
            ratios.append(-gear_turn / fixed_turn)
    assert len(ratios) >= 5, ratios
    assert np.median(ratios) == pytest.approx(ga.GEAR_RATIO, rel=0.1), ratios


def test_unmeshed_gear_does_not_turn_with_the_fixed_gear():
    env = make_batched(GEAR, 1)
    env.reset(seeds=[0])
    model, data = standalone(env, 0)
    fixed_turn, gear_turn = drive_fixed_gear(model, data, speed_rad_s=2.0, steps=500)
    assert fixed_turn > 0.5 and abs(gear_turn) < 1e-3


def test_sparse_reward_is_one_only_on_success_and_dense_reward_climbs():
    _, success, sparse, infos = run_expert([11, 12], reward_mode="sparse")
    flags = np.array([i["success"] for i in infos])
    assert success.all()
    valid = ~np.isnan(sparse)
    assert np.array_equal(sparse[valid], flags[valid].astype(float))
    _, _, dense, infos = run_expert([11, 12])
    first, last = dense[0], np.array([d[~np.isnan(d)][-1] for d in dense.T])
    assert (last > first + 5.0).all()  # success (5) on top of reach, grasp, align, phase and lower
    terms = infos[-1]["reward_terms"]
    assert {"reach", "grasp", "lift", "align", "phase", "lower", "success"} <= set(terms)
