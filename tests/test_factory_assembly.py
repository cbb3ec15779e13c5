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


def test_nut_on_the_bench_is_not_engaged_and_its_inertia_follows_its_mass():
    env = make_batched(NUT, 3)
    _, info = env.reset(seeds=[0, 1, 2])
    assert not info["success"].any() and not info["engaged"].any()
    assert (info["turns_down"] == 0).all()
    body = env.task.nut_body
    mass = env.sim.per_sim_model_field("body_mass")[:, body]
    inertia = env.sim.per_sim_model_field("body_inertia")[:, body]
    low, high = env.config.nut_mass_kg
    assert ((mass >= low) & (mass <= high)).all() and len(set(mass.tolist())) == 3
    assert np.allclose(inertia / mass[:, None], env.model.body_inertia[body] / env.model.body_mass[body])


def test_the_threads_are_drawn_as_one_light_mesh_each_and_collide_as_capsules():
    """The capsules that carry the helix collide but are not drawn; each thread is drawn as one mesh that neither
    collides nor weighs, lying on the same helix (a bolt's 120 drawn capsules were 4/5 of an 84x84 frame)."""
    import mujoco

    from embodia.envs.core.rendering import SimRenderer
    from embodia.envs.scene.builder import HIDDEN_GROUP
    from embodia.envs.tasks.factory.nut_bolt import BOLT_THREAD

    env = make_batched(NUT, 1)
    env.reset(seeds=[0])
    model = env.model
    for thread, helix_turns in (("bolt_thread", BOLT_THREAD.turns), ("nut_thread", 3)):
        capsules = [g for g in range(model.ngeom) if model.geom(g).name.startswith(f"{thread}_") and
                    model.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE]  # fmt: skip
        assert len(capsules) == 12 * helix_turns
        assert (model.geom_group[capsules] == HIDDEN_GROUP).all() and (model.geom_contype[capsules] > 0).all()
        drawn = model.geom(f"{thread}_visual").id
        assert model.geom_contype[drawn] == model.geom_conaffinity[drawn] == 0
        assert model.geom_group[drawn] < HIDDEN_GROUP
    # the bolt's mesh lies on its helix: every vertex within the wire's radius of the centre line's cylinder
    drawn = model.geom("bolt_thread_visual").id
    mesh = model.geom_dataid[drawn]
    vertices = model.mesh_vert[model.mesh_vertadr[mesh] : model.mesh_vertadr[mesh] + model.mesh_vertnum[mesh]]
    rotation = np.zeros(9)
    mujoco.mju_quat2Mat(rotation, model.geom_quat[drawn])
    in_body = model.geom_pos[drawn] + vertices @ rotation.reshape(3, 3).T
    radial = np.linalg.norm(in_body[:, :2], axis=1)
    assert np.allclose(radial, BOLT_THREAD.radius_m, atol=BOLT_THREAD.wire_radius_m * 1.01)
    low, high = BOLT_THREAD.start_z_m, BOLT_THREAD.top_z_m
    assert in_body[:, 2].min() > low - 2 * BOLT_THREAD.wire_radius_m
    assert in_body[:, 2].max() < high + 2 * BOLT_THREAD.wire_radius_m
    # what the work camera draws of the bolt is the mesh, never a capsule
    renderer = SimRenderer(model, 240, 320, "fast")
    try:
        renderer.load(env.sim, 0)
        ids = renderer.object_ids("work")
    finally:
        renderer.close()
    geoms = set(np.unique(ids[..., 0][ids[..., 1] == mujoco.mjtObj.mjOBJ_GEOM]).tolist())
    assert model.geom("bolt_thread_visual").id in geoms
    assert not any(model.geom(g).name.startswith("bolt_thread_") and g != drawn for g in geoms)
    env.close()


def _nut_on_the_thread(turns_down: float, yaw: float, helix_offset_m: float = 0.0):
    """An env whose nut stands on the bolt's axis, ``turns_down`` turns down its thread at ``yaw``, displaced
    ``helix_offset_m`` along the axis from where the helix puts it (0: its ridge between the bolt's)."""
    from embodia.envs.tasks.factory.nut_bolt import BOLT_THREAD, NUT_THREAD, PITCH_M

    env = make_batched(NUT, 1)
    env.reset(seeds=[0])
    sim, task = env.sim, env.task
    top = sim.site_xpos[0, task.thread_top_site].copy()
    bolt_start = top[2] - BOLT_THREAD.pitch_m * BOLT_THREAD.turns
    on_helix = bolt_start + PITCH_M * (yaw / (2 * np.pi) + 0.5) - NUT_THREAD.start_z_m
    whole_turns = np.round((top[2] - NUT_THREAD.start_z_m - turns_down * PITCH_M - on_helix) / PITCH_M)
    adr = task.nut_qpos
    sim.qpos[0, adr : adr + 3] = [top[0], top[1], on_helix + whole_turns * PITCH_M + helix_offset_m]
    sim.qpos[0, adr + 3 : adr + 7] = [np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)]
    sim.qvel[0] = 0.0
    sim.forward(np.array([0]))
    return env


def _turn(env, torque_nm: float, steps: int) -> tuple[float, float]:
    """Twist the nut about the bolt's axis for ``steps`` control steps (jaws open and away); (turns made, counted
    positive anticlockwise from above, and the nut's rise in m)."""
    sim, body = env.sim, env.task.nut_body
    yaw = lambda: np.arctan2(sim.xmat[0, body, 3], sim.xmat[0, body, 0])  # noqa: E731
    z0, turned, last = sim.xpos[0, body, 2], 0.0, yaw()
    action = np.zeros((1, 7))
    action[:, 6] = 1.0
    wrench = sim.batch.bind("xfrc_applied")
    for _ in range(steps):
        wrench[0, body] = [0, 0, 0, 0, 0, torque_nm]
        env.step(action)
        now = yaw()
        turned += (now - last + np.pi) % (2 * np.pi) - np.pi
        last = now
    wrench[0, body] = 0.0
    return turned / (2 * np.pi), sim.xpos[0, body, 2] - z0


@pytest.mark.parametrize("torque_nm", [-0.02, 0.02], ids=["clockwise-screws-down", "anticlockwise-unscrews"])
def test_the_nut_moves_along_the_helix_at_the_m20_pitch(torque_nm):
    env = _nut_on_the_thread(turns_down=4.0, yaw=0.3)
    _, info = env.step(np.array([[0, 0, 0, 0, 0, 0, 1.0]]))[-2:]
    assert info["engaged"][0] and abs(info["turns_down"][0] - 4.0) <= 0.6  # the helix sets it to within a turn
    turns, rise = _turn(env, torque_nm, steps=8)
    assert abs(turns) > 0.5 and np.sign(turns) == np.sign(torque_nm)
    assert rise / turns == pytest.approx(0.0025, rel=0.06)  # ISO 261: M20 coarse, 2.5 mm per turn
    info = env.step(np.array([[0, 0, 0, 0, 0, 0, 1.0]]))[-1]
    assert info["engaged"][0]


def test_a_nut_off_the_helix_is_neither_engaged_nor_screwed():
    # a nut held half a pitch off the helix (ridge on ridge, or a thread that slid instead of turning) at two turns
    env = _nut_on_the_thread(turns_down=2.0, yaw=1.0, helix_offset_m=0.00125)
    ev = env.task.evaluate(env.sim)
    assert abs(ev["turns_down"][0] - 2.0) < 0.6
    assert not ev["engaged"][0] and not ev["screwed"][0] and not ev["success"][0]
    on_helix = _nut_on_the_thread(turns_down=2.0, yaw=1.0)
    ev = on_helix.task.evaluate(on_helix.sim)
    assert ev["engaged"][0] and ev["screwed"][0]  # released and at rest too: success
    assert ev["success"][0]


def test_nut_bolt_expert_screws_the_nut_down_in_strokes_along_the_helix():
    env, success, _, infos = run_expert(NUT, list(range(600, 608)))
    assert success.sum() >= 7, success
    for k in np.flatnonzero(success):
        end = next(t for t, i in enumerate(infos) if i["success"][k])
        quats = np.array([i["state"]["nut_quat"][k] for i in infos[: end + 1]])
        heights = np.array([i["state"]["nut_pos"][k, 2] for i in infos[: end + 1]])
        engaged = np.array([i["engaged"][k] for i in infos[: end + 1]])
        yaw = np.unwrap(2 * np.arctan2(quats[:, 3], quats[:, 0]))
        on_thread = np.array([i["turns_down"][k] > 0 for i in infos[: end + 1]])
        landed = len(on_thread) - np.argmin(on_thread[::-1])  # from where the nut sits on the thread for good
        turns = (yaw[end] - yaw[landed]) / (2 * np.pi)
        assert turns <= -1.5  # clockwise from above, more than a wrist can turn in one go
        # while engaged, height and turn keep to the helix: a straight line of the pitch's slope
        pitch, _ = np.polyfit(yaw[engaged] / (2 * np.pi), heights[engaged], 1)
        assert pitch == pytest.approx(0.0025, rel=0.05)
        assert infos[end]["turns_down"][k] >= env.config.turns_required
