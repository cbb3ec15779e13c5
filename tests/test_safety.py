"""ISO/TS 15066 accounting against physics computed by hand: loads, pushes into every region, speeds, summaries."""

import mujoco
import numpy as np
import pytest

from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import make_batched
from embodia.envs.human.body import JOINT_NAMES
from embodia.envs.human.config import HumanConfig
from embodia.envs.human.motion import HumanMotion
from embodia.envs.human.person import add_person
from embodia.envs.physics.sim import Simulation
from embodia.envs.safety import iso15066
from embodia.envs.safety.monitor import SafetyMonitor, SafetyOptions, add_contact_sensors
from embodia.envs.safety.summary import summarize_episode
from embodia.envs.scene import props
from embodia.envs.scene.builder import GEOM, SceneBuilder

GRAVITY = 9.81
CONTROL_DT_S = 0.01
PROBE_RADIUS_M = 0.015
PROBE_GROUP = 3
WEIGHT_KG = 0.5
FOREARM_LEVEL = {"right_shoulder_flexion": 0.0, "right_elbow_flexion": np.pi / 2 - 0.05}  # trunk reclines 0.05


def probe_scene():
    """A person and a probe robot: a sphere on three servoed slide joints (a gantry), plus a weight on a z slide."""
    builder = SceneBuilder("probe")
    props.add_room(builder)
    person = add_person(builder, HumanConfig(), "person", [0.0, 0.0, 0.0], 0.0)
    probe = builder.world.add_body(name="probe", pos=[0, 0, 0], gravcomp=1)
    for axis, name in zip(np.eye(3), "xyz", strict=True):
        probe.add_joint(name=f"probe_{name}", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=axis.tolist(), damping=50)
        actuator = builder.spec.add_actuator(
            name=f"probe_{name}", target=f"probe_{name}", trntype=mujoco.mjtTrn.mjTRN_JOINT
        )
        actuator.set_to_position(kp=3000.0, kv=100.0)
    probe.add_geom(type=GEOM.mjGEOM_SPHERE, size=[PROBE_RADIUS_M, 0, 0], mass=1.0, group=PROBE_GROUP)
    probe.add_site(name="probe_tip")
    weight = builder.world.add_body(name="weight", pos=[0, 0, 2.0])
    weight.add_joint(name="weight_z", type=mujoco.mjtJoint.mjJNT_SLIDE, axis=[0, 0, 1], damping=2)
    weight.add_geom(type=GEOM.mjGEOM_BOX, size=[0.02, 0.02, 0.01], mass=WEIGHT_KG, group=PROBE_GROUP)
    add_contact_sensors(builder, person.region_of_geom, {"robot": "probe", "tool": "weight"})
    return builder.build(), person


@pytest.fixture(scope="module")
def scene():
    return probe_scene()


def start(scene, targets: dict[str, float] | None = None):
    model, person = scene
    sim = Simulation(model, 1, CONTROL_DT_S)
    ids = np.array([0])
    sim.reset_to_home(ids)
    motion = HumanMotion(person, 400, CONTROL_DT_S)
    motion.bind(model, 1)
    posture = person.posture_target_array()[None].copy()
    for joint, value in (targets or {}).items():
        posture[0, JOINT_NAMES.index(joint)] = value
    motion.initialize(sim, ids, [np.random.default_rng(0)], [HumanConfig()], posture)
    sim.batch.set_const(ids)
    monitor = SafetyMonitor(
        model, 1, person.region_of_geom, {"robot": "probe", "tool": "weight"}, ["probe"], "probe_tip", CONTROL_DT_S
    )
    monitor.reset(sim, ids)
    sim.forward(ids)
    return sim, motion, monitor


def run(sim, motion, monitor, steps: int) -> dict:
    for _ in range(steps):
        motion.advance(sim)
        monitor.before_physics(sim)
        assert not sim.step().any()
    return monitor.measure(sim, np.zeros(1))


def probe_qpos(model) -> np.ndarray:
    return np.array([model.jnt_qposadr[model.joint(f"probe_{a}").id] for a in "xyz"])


def test_a_known_mass_on_the_forearm_weighs_m_g_in_the_lower_arm_region(scene):
    model, _ = scene
    sim, motion, monitor = start(scene, FOREARM_LEVEL)
    forearm = model.site("person_right_forearm").id
    weight_z = model.jnt_qposadr[model.joint("weight_z").id]
    # hang the weight's slide over the forearm's middle, just above it
    sim.per_sim_model_field("body_pos")[0, model.body("weight").id] = sim.site_xpos[0, forearm] * [1, 1, 0]
    sim.qpos[0, weight_z] = sim.site_xpos[0, forearm, 2] + 0.04
    sim.qpos[0, probe_qpos(model)] = [0.0, 0.0, 1.5]  # the probe out of the way
    sim.ctrl[0, [model.actuator(f"probe_{a}").id for a in "xyz"]] = [0.0, 0.0, 1.5]
    sim.forward(np.array([0]))
    safety = run(sim, motion, monitor, 150)
    assert safety["force_n"]["lower_arm"][0] == pytest.approx(WEIGHT_KG * GRAVITY, rel=0.01)
    others = [safety["force_n"][r][0] for r in iso15066.REGION_NAMES if r != "lower_arm"]
    assert max(others) == 0.0
    assert safety["max_contact_force_n"][0] == pytest.approx(WEIGHT_KG * GRAVITY, rel=0.01)
    assert not safety["quasi_static_exceeded"][0]
    assert safety["pressure_n_per_cm2"]["lower_arm"][0] > 0


def approaches(model, data, person, region: str):
    """Rays from outside that first meet a geom of ``region``: (surface point, unit direction into the body)."""
    groups = np.zeros(6, dtype=np.uint8)
    groups[0] = 1  # person and furniture; not the probe, the weight or the hair
    hit = np.zeros(1, dtype=np.int32)
    directions = [(1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, -1), (-1, 0, 0), (1, 0, -1), (0, 1, -1), (0, -1, -1)]
    for geom, geom_region in person.region_of_geom.items():
        if geom_region != region:
            continue
        gid = model.geom(geom).id
        centre = data.geom_xpos[gid]
        axis = data.geom_xmat[gid].reshape(3, 3)[:, int(np.argmax(model.geom_size[gid]))]
        half = float(model.geom_size[gid].max())
        for aim in (centre, centre + 0.5 * half * axis, centre - 0.5 * half * axis):
            for direction in directions:
                inward = np.asarray(direction, float) / np.linalg.norm(direction)
                origin = aim - inward * 1.0
                distance = mujoco.mj_ray(model, data, origin, inward, groups, 1, -1, hit)
                if distance > 0 and hit[0] == gid:
                    yield origin + inward * distance, inward


@pytest.mark.parametrize("region", iso15066.REGION_NAMES)
def test_pushing_the_probe_robot_into_each_region_reports_that_region(scene, region):
    model, person = scene
    sim, motion, monitor = start(scene)
    actuators = [model.actuator(f"probe_{a}").id for a in "xyz"]
    for surface, inward in approaches(model, sim.batch.get_data(0), person, region):
        outside = surface - inward * (PROBE_RADIUS_M + 0.01)
        sim.qpos[0, probe_qpos(model)] = outside
        sim.ctrl[0, actuators] = outside
        sim.forward(np.array([0]))
        if monitor.measure(sim, np.zeros(1))["max_contact_force_n"][0] == 0.0:
            break  # a start that touches nothing
    else:
        raise AssertionError(f"no clear approach to region {region}")
    sim.ctrl[0, actuators] = surface + inward * 0.02  # press 2 cm beyond the surface
    safety = run(sim, motion, monitor, 40)
    forces = {r: safety["force_n"][r][0] for r in iso15066.REGION_NAMES}
    assert max(forces, key=forces.get) == region, forces
    assert forces[region] > 5.0


def test_speed_near_the_person_is_judged_against_the_nearest_regions_permissible_speed(scene):
    model, _ = scene
    sim, _, monitor = start(scene, FOREARM_LEVEL)
    adr = probe_qpos(model)
    data = sim.batch.get_data(0)
    cases = {
        "near_face_slow": (data.site_xpos[model.site("person_mouth").id] + [0.06, 0, 0], 0.05, True),
        "near_hand_slow": (data.site_xpos[model.site("person_right_palm").id] + [0, 0, 0.06], 0.3, False),
        "near_hand_fast": (data.site_xpos[model.site("person_right_palm").id] + [0, 0, 0.06], 3.0, True),
        "far_fast": (np.array([0.0, 0.0, 2.0]), 3.0, False),
    }
    hand_limit = iso15066.permissible_speed_m_s("hand", monitor.robot_moving_mass_kg)
    for name, (position, speed_m_s, exceeded) in cases.items():
        sim.qpos[0, adr] = position - [0, speed_m_s * CONTROL_DT_S, 0]
        sim.forward(np.array([0]))
        monitor.before_physics(sim)
        sim.qpos[0, adr] = position  # moved sideways at speed_m_s over one control period
        sim.forward(np.array([0]))
        safety = monitor.measure(sim, np.zeros(1))
        assert safety["speed_limit_exceeded"][0] == exceeded, name
        if name.startswith("near_hand"):
            assert iso15066.REGION_NAMES[safety["nearest_region"][0]] == "hand"
            assert safety["nearest_region_speed_m_s"][0] == pytest.approx(speed_m_s, rel=1e-6)
            assert safety["nearest_region_permissible_speed_m_s"][0] == pytest.approx(hand_limit)
        if name == "far_fast":
            assert safety["nearest_region_speed_m_s"][0] == 0.0


def test_the_table_and_the_two_body_model_by_hand():
    hand = iso15066.region("hand")
    assert (hand.quasi_static_force_n, hand.transient_force_n) == (140.0, 280.0)
    assert not iso15066.region("face").transient_permitted
    robot_mass, payload = 18.0, 0.5
    reduced = 1.0 / (1.0 / 0.6 + 1.0 / (robot_mass / 2 + payload))
    expected = 280.0 / np.sqrt(reduced * 75_000.0)
    assert iso15066.permissible_speed_m_s("hand", robot_mass, payload) == pytest.approx(expected)
    assert iso15066.permissible_speed_m_s("face", robot_mass) == 0.0
    with pytest.raises(ValueError, match="unknown ISO/TS 15066 body region 'tail'"):
        iso15066.region("tail")
    with pytest.raises(ValueError, match="limit_scale=0 is out of range"):
        SafetyOptions(limit_scale=0)


def test_summary_of_a_recorded_episode():
    steps = 10
    info = {f"safety/force_n/{r}": np.zeros(steps + 1) for r in iso15066.REGION_NAMES}
    info["safety/force_n/hand"][[2, 3, 4]] = [150.0, 300.0, 150.0]  # over 140 N for 3 steps; over 280 N once
    info["safety/force_n/chest"][7] = 20.0
    info["safety/max_contact_force_n"] = np.maximum(info["safety/force_n/hand"], info["safety/force_n/chest"])
    transient = np.zeros(steps + 1, dtype=bool)
    transient[[3, 8, 9]] = True
    info["safety/transient_exceeded"] = transient
    summary = summarize_episode(info, control_dt_s=0.05)
    assert summary["peak_force_n"]["hand"] == 300.0 and summary["peak_force_n"]["chest"] == 20.0
    assert summary["time_over_quasi_static_s"] == pytest.approx(0.15)
    assert summary["transient_violations"] == 2
    assert summary["peak_max_contact_force_n"] == 300.0


def test_handover_expert_succeeds_without_exceeding_a_transient_limit():
    num = 16
    env = make_batched("embodia/Handover-v0", num)
    expert = make_expert("embodia/Handover-v0", num)
    obs, info = env.reset(seeds=list(range(2_000, 2_000 + num)))
    expert.reset(np.arange(num))
    done = np.zeros(num, dtype=bool)
    success = np.zeros(num, dtype=bool)
    transient = np.zeros(num, dtype=bool)
    peak = np.zeros(num)
    for _ in range(env.config.episode_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        live = ~done
        success |= live & info["success"]
        transient |= live & info["safety"]["transient_exceeded"]
        peak = np.maximum(peak, np.where(live, info["safety"]["max_contact_force_n"], 0.0))
        done |= terminated | truncated
        if done.all():
            break
    assert success.sum() >= num - 1
    assert not transient.any()
    assert 0 < peak.max() < iso15066.region("hand").quasi_static_force_n


def test_the_panda_pressing_on_the_palm_is_reported_in_the_hand_region():
    env = make_batched("embodia/Handover-v0", 1, tremor=False, voluntary_motion=False)
    _, info = env.reset(seeds=[5])
    peak = {}
    for _ in range(120):
        state = info["state"]
        target = state["palm_pos"] + np.array([0.0, 0.05, 0.0]) - 0.03 * state["palm_normal"]  # into the palm
        if np.linalg.norm((state["tcp_pos"] - target)[:, :2]) > 0.01:
            target = target + np.array([0, 0, 0.15])  # go over it first
        action = np.zeros((1, 7))
        action[:, :3] = np.clip((target - state["tcp_pos"]) / 0.025, -1, 1)
        action[:, 6] = -1.0
        _, _, _, _, info = env.step(action)
        for region, force in info["safety"]["force_n"].items():
            peak[region] = max(peak.get(region, 0.0), float(force[0]))
    assert max(peak, key=peak.get) == "hand", peak
    assert peak["hand"] > 5.0


def test_violations_terminate_and_penalize_when_asked():
    num = 4
    kwargs = {"terminate_on_safety_violation": True, "safety_penalty": 2.0, "safety_limit_scale": 0.002}
    env = make_batched("embodia/Handover-v0", num, **kwargs)
    assert env.reward_weights["safety"] == -2.0
    expert = make_expert("embodia/Handover-v0", num)
    obs, info = env.reset(seeds=list(range(num)))
    expert.reset(np.arange(num))
    ended_by_violation = np.zeros(num, dtype=bool)
    for _ in range(env.config.episode_steps):
        obs, reward, terminated, truncated, info = env.step(expert.act(obs, info))
        terms = info["reward_terms"]
        plain = sum(env.reward_weights[k] * v for k, v in terms.items())
        np.testing.assert_allclose(reward[~info["success"]], plain[~info["success"]])  # the success step pays more
        np.testing.assert_allclose(reward, env.config.dense_reward(terms, info["success"], info["elapsed_steps"]))
        assert ((terms["safety"] > 0) <= (info["safety"]["max_contact_force_n"] > 0)).all()
        violation = info["safety"]["quasi_static_exceeded"] | info["safety"]["transient_exceeded"]
        ended_by_violation |= terminated & violation & info["fail"]
        if (terminated | truncated).all():
            break
    assert ended_by_violation.any()  # the 0.3 N limit on the hand is exceeded by setting the bottle down


def test_distances_to_the_person_match_a_point_by_point_segment_distance(scene):
    """The monitor's distances are batched products; here each robot point and person geom pair is done by the
    textbook (the point's projection on the segment, clamped, less the radius), around and touching the person."""
    model, _ = scene
    sim, _, monitor = start(scene, FOREARM_LEVEL)
    adr = probe_qpos(model)
    data = sim.batch.get_data(0)
    rng = np.random.default_rng(3)
    surface = data.geom_xpos[monitor.geom_ids]
    checked = 0
    for centre in surface[rng.choice(len(surface), 12, replace=False)]:
        sim.qpos[0, adr] = centre + rng.normal(0.0, 0.08, 3)
        sim.forward(np.array([0]))
        points = monitor._robot_points(sim)
        distance, region = monitor._distance_to_person(sim, points)
        for p, point in enumerate(points[0]):
            gaps = []
            for g, geom in enumerate(monitor.geom_ids):
                axis = data.geom_xmat[geom].reshape(3, 3)[:, monitor.geom_axis[0, g]]
                half = monitor.geom_half_length[0, g]
                start_, end = data.geom_xpos[geom] - axis * half, data.geom_xpos[geom] + axis * half
                t = np.clip(np.dot(point - start_, end - start_) / max(np.dot(end - start_, end - start_), 1e-12), 0, 1)
                gaps.append(np.linalg.norm(point - (start_ + t * (end - start_))) - monitor.geom_radius[0, g])
            assert distance[0, p] == pytest.approx(max(min(gaps), 0.0), abs=1e-9)
            assert region[0, p] == monitor.geom_region[int(np.argmin(gaps))]
            checked += min(gaps) < 0.02
    assert checked >= 3  # some of the points were at the person's surface or inside it
