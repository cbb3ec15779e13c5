"""The parametric person: builds, scales, validates, trembles at the configured frequency, yields and returns."""

import dataclasses

import mujoco
import numpy as np
import pytest

from embodia.envs.core.batched_env import make_batched
from embodia.envs.human import anthropometry
from embodia.envs.human.body import JOINT_NAMES
from embodia.envs.human.config import POSTURES, SEXES, HumanConfig, HumanRanges
from embodia.envs.human.motion import HumanMotion
from embodia.envs.human.person import add_person
from embodia.envs.human.shape import ShapeBinding
from embodia.envs.physics.sim import Simulation
from embodia.envs.scene import props
from embodia.envs.scene.builder import SceneBuilder

HANDOVER = "embodia/Handover-v0"


def person_scene(config: HumanConfig):
    builder = SceneBuilder("person")
    props.add_room(builder)
    body = add_person(builder, config, "person", [0.0, 0.0, 0.0], 0.0)
    return builder.build(), body


def person_sim(config: HumanConfig, control_dt_s: float = 0.01, steps: int = 400, seed: int = 0):
    """A person alone, driven by its motion processes, sampled every ``control_dt_s``: built as a median woman of
    the default mass, given ``config``'s body as a task gives it (``ShapeBinding``)."""
    model, body = person_scene(HumanConfig(posture=config.posture, head_raise_rad=config.head_raise_rad))
    sim = Simulation(model, 1, control_dt_s)
    motion = HumanMotion(body, steps, control_dt_s)
    motion.bind(model, 1)
    ids = np.array([0])
    sim.reset_to_home(ids)
    (shape,) = ShapeBinding(model, body).apply(sim, ids, [config])
    root = model.joint(body.root_joint)
    shape.rest.place(sim, ids, int(root.qposadr[0]), int(root.dofadr[0]), np.zeros(3), 0.0)
    targets = body.posture_target_array()[None].copy()
    held_out = {"right_shoulder_flexion": 0.9, "right_elbow_flexion": 0.6, "right_wrist_flexion": 0.17}
    for joint, value in held_out.items():
        targets[0, JOINT_NAMES.index(joint)] = value
    motion.initialize(sim, ids, [np.random.default_rng(seed)], [config], targets)
    sim.batch.set_const(ids)
    sim.forward(ids)
    return sim, motion, model.site(body.sites["right_palm"]).id, model


@pytest.mark.parametrize("sex", SEXES)
@pytest.mark.parametrize("percentile", [1.0, 50.0, 99.0])
@pytest.mark.parametrize("posture", POSTURES)
def test_body_builds_for_every_sex_percentile_and_posture(sex, percentile, posture):
    config = HumanConfig(sex=sex, stature_percentile=percentile, posture=posture, head_raise_rad=0.4)
    model, body = person_scene(config)
    assert set(body.region_of_geom.values()) >= {"hand", "lower_arm", "upper_arm", "face", "skull_forehead", "chest"}
    for site in ("mouth", "left_eye", "right_eye", "right_palm", "left_palm", "right_forearm", "left_shoulder"):
        assert model.site(body.sites[site]).id >= 0
    assert len(body.joints) == len(JOINT_NAMES) and len(body.oscillators) == 2


@pytest.mark.parametrize("side", ["right", "left"])
def test_positive_abduction_raises_the_arm_away_from_the_trunk(side):
    import mujoco

    model, body = person_scene(HumanConfig())
    data = mujoco.MjData(model)
    hand = model.site(body.sites[f"{side}_palm"]).id
    root = model.body(body.root).id
    joint = model.joint(body.joints[f"{side}_shoulder_abduction"])
    lateral = []
    for angle in (0.0, 0.5):
        data.qpos[:] = 0.0
        data.qpos[joint.qposadr[0]] = angle
        mujoco.mj_kinematics(model, data)
        lateral.append(abs(data.site_xpos[hand, 1] - data.xpos[root, 1]))  # the person faces +x: y is sideways
    assert lateral[1] > lateral[0] + 0.1


def test_segment_lengths_scale_with_stature():
    lengths = {}
    for percentile in (5.0, 95.0):
        model, _ = person_scene(HumanConfig(stature_percentile=percentile))
        half = model.geom("person_right_upper_arm").size[1]
        lengths[percentile] = 2 * (half + 0.0)
    short, tall = (anthropometry.stature_m("female", p) for p in (5.0, 95.0))
    assert tall > short + 0.1
    np.testing.assert_allclose(lengths[95.0] / lengths[5.0], tall / short, rtol=1e-9)
    np.testing.assert_allclose(lengths[5.0], 0.186 * short, rtol=1e-9)  # Drillis & Contini: upper arm 0.186 H


def test_median_stature_and_mass_match_the_survey():
    assert anthropometry.stature_m("female", 50) == pytest.approx(1.483)
    assert anthropometry.body_mass_kg("male", 50) == pytest.approx(61.0)
    # the normal fit is symmetric; the survey's quartiles nearly so
    assert anthropometry.stature_m("male", 75) == pytest.approx(1.660, abs=0.005)
    assert anthropometry.body_mass_kg("female", 25) == pytest.approx(44.0, abs=0.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"body_mass_kg": -5.0}, "body_mass_kg=-5.0 is out of range; valid: 30.0 to 150.0 kg"),
        ({"stature_percentile": 0.0}, "stature_percentile=0.0 is out of range; valid: 1.0 to 99.0"),
        ({"stature_percentile": 99.5}, "stature_percentile"),
        ({"hand_tremor_amplitude_m": 0.05}, "hand_tremor_amplitude_m=0.05 is out of range; valid: 0.0 to 0.02 m"),
        ({"hand_tremor_hz": 40.0}, "hand_tremor_hz=40.0 is out of range; valid: 3.0 to 12.0 Hz"),
        ({"head_tremor_amplitude_rad": 1.0}, "head_tremor_amplitude_rad"),
        ({"rom_scale": 1.5}, "rom_scale"),
        ({"sex": "other"}, "sex='other' is not valid; valid: female, male"),
        ({"posture": "standing"}, "posture='standing' is not valid"),
    ],
)
def test_bad_human_parameters_raise_naming_the_parameter_and_range(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        HumanConfig(**kwargs)


def test_bad_ranges_raise():
    with pytest.raises(ValueError, match="strength_scale"):
        HumanRanges(strength_scale=(0.9, 0.5))
    with pytest.raises(ValueError, match="hand_tremor_amplitude_m"):
        HumanRanges(hand_tremor_amplitude_m=(0.0, 0.1))


@pytest.mark.parametrize("tremor_hz", [4.5, 10.0])
def test_hand_tremor_frequency_and_amplitude_from_the_simulated_trajectory(tremor_hz):
    amplitude_m = 0.003
    config = HumanConfig(hand_tremor_hz=tremor_hz, hand_tremor_amplitude_m=amplitude_m)
    sim, motion, palm, _ = person_sim(config)
    trajectory = []
    for _ in range(400):  # 4 s at 100 Hz
        motion.advance(sim)
        assert not sim.step().any()
        trajectory.append(sim.site_xpos[0, palm].copy())
    signal = np.asarray(trajectory)[100:]  # after the start-up transient
    signal = signal - signal.mean(axis=0)
    direction = np.linalg.svd(signal, full_matrices=False)[2][0]  # the tremor's main axis
    x = signal @ direction
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n=8192))
    freqs = np.fft.rfftfreq(8192, d=0.01)
    assert freqs[np.argmax(spectrum)] == pytest.approx(tremor_hz, abs=0.15)
    measured_amplitude = np.sqrt(2) * x.std()
    assert 0.4 * amplitude_m < measured_amplitude < 2.0 * amplitude_m


def test_no_tremor_means_a_still_hand():
    sim, motion, palm, _ = person_sim(HumanConfig())
    start = None
    for step in range(200):
        motion.advance(sim)
        sim.step()
        if step == 50:
            start = sim.site_xpos[0, palm].copy()
    assert np.linalg.norm(sim.site_xpos[0, palm] - start) < 1e-4


def test_posture_is_compliant_a_push_moves_the_hand_and_it_returns():
    sim, motion, palm, model = person_sim(HumanConfig(), steps=300)
    xfrc = sim.batch.bind("xfrc_applied")
    hand = model.body("person_right_hand").id
    for _ in range(30):
        motion.advance(sim)
        sim.step()
    rest = sim.site_xpos[0, palm].copy()
    xfrc[0, hand, 2] = -20.0  # 20 N down on the hand for 0.5 s
    for _ in range(50):
        motion.advance(sim)
        sim.step()
    pushed = sim.site_xpos[0, palm].copy()
    xfrc[0, hand, 2] = 0.0
    for _ in range(200):
        motion.advance(sim)
        sim.step()
    moved = rest[2] - pushed[2]
    assert 0.005 < moved < 0.15, f"a 20 N push moved the hand {moved * 1000:.1f} mm"
    assert np.linalg.norm(sim.site_xpos[0, palm] - rest) < 0.003


def test_weakness_makes_the_push_move_the_hand_further():
    moved = {}
    for strength in (1.0, 0.3):
        sim, motion, palm, model = person_sim(HumanConfig(strength_scale=strength), steps=100)
        xfrc = sim.batch.bind("xfrc_applied")
        rest = sim.site_xpos[0, palm].copy()
        xfrc[0, model.body("person_right_hand").id, 2] = -10.0
        for _ in range(60):
            motion.advance(sim)
            sim.step()
        moved[strength] = rest[2] - sim.site_xpos[0, palm, 2]
    assert moved[0.3] > 2.0 * moved[1.0]


def run_handover(seeds, num_sims, steps=40, **kwargs):
    env = make_batched(HANDOVER, num_sims, **kwargs)
    _, info = env.reset(seeds=seeds)
    human = {k: v.copy() for k, v in info["human"].items()}
    palms = []
    for _ in range(steps):
        _, _, _, _, info = env.step(np.zeros((num_sims, 7)))
        palms.append(info["state"]["palm_pos"].copy())
    return human, np.stack(palms, axis=1)


def test_person_is_reproducible_from_the_seed_and_independent_of_the_batch():
    human_a, palms_a = run_handover([7], 1)
    human_b, palms_b = run_handover([3, 7, 11], 3)
    np.testing.assert_array_equal(palms_a[0], palms_b[1])
    for key in human_a:
        assert human_a[key][0] == human_b[key][1]
    assert not np.array_equal(palms_b[0], palms_b[1])


def test_sampled_person_goes_into_info_and_switches_turn_impairments_off():
    human, palms = run_handover(list(range(6)), 6, steps=30, tremor=False, voluntary_motion=False)
    assert (human["hand_tremor_amplitude_m"] == 0).all() and (human["hand_drift_m"] == 0).all()
    assert (human["rom_scale"] >= 0.7).all() and (human["strength_scale"] >= 0.5).all()
    assert np.abs(np.diff(palms[:, 10:], axis=1)).max() < 1e-4  # no own motion: the hand holds still
    human, palms = run_handover(list(range(6)), 6, steps=30)
    assert (human["hand_tremor_amplitude_m"] > 0).any() and (human["hand_drift_m"] > 0).any()
    assert np.abs(np.diff(palms[:, 10:], axis=1)).max() > 1e-4


def test_configs_are_frozen_and_sampling_stays_in_range():
    ranges = HumanRanges()
    rng = np.random.default_rng(0)
    for _ in range(50):
        person = ranges.sample(rng)
        assert ranges.rom_scale[0] <= person.rom_scale <= ranges.rom_scale[1]
        assert person.hand_tremor_amplitude_m <= ranges.hand_tremor_amplitude_m[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        person.rom_scale = 0.1


def test_body_mass_is_drawn_per_episode_and_scales_the_segments():
    env = make_batched(HANDOVER, 3)
    _, info = env.reset(seeds=[0, 1, 2])
    mass = info["human"]["body_mass_kg"]
    sexes = [SEXES[int(i)] for i in info["human"]["sex"]]
    low, high = (np.array([anthropometry.body_mass_kg(sex, p) for sex in sexes]) for p in (10.0, 90.0))
    assert ((mass >= low) & (mass <= high)).all() and len(set(mass.tolist())) == 3
    forearm = env.model.body("person_right_forearm").id
    segment = env.sim.per_sim_model_field("body_mass")[:, forearm]
    np.testing.assert_allclose(segment / segment[0], mass / mass[0])


def test_handover_with_a_tall_man_in_a_wheelchair():
    structure = HumanConfig(sex="male", stature_percentile=90.0, body_mass_kg=70.0, posture="seated_wheelchair")
    human, palms = run_handover([0, 1], 2, steps=10, human=HumanRanges(structure=structure))
    assert (human["sex"] == SEXES.index("male")).all()
    assert (human["posture"] == POSTURES.index("seated_wheelchair")).all()
    assert np.isfinite(palms).all()
    with pytest.raises(ValueError, match=r"human\.structure\.posture='supine_bed' is not valid for Handover"):
        make_batched(HANDOVER, 1, human=HumanRanges(structure=HumanConfig(posture="supine_bed")))


@pytest.mark.parametrize("posture", POSTURES)
def test_the_most_extreme_valid_person_stays_stable(posture):
    config = HumanConfig(
        posture=posture,
        head_raise_rad=1.0,
        rom_scale=0.5,
        strength_scale=0.25,
        hand_tremor_hz=12.0,
        hand_tremor_amplitude_m=0.02,
        head_tremor_hz=12.0,
        head_tremor_amplitude_rad=0.25,
        hand_drift_m=0.05,
        head_turn_rate_hz=1.0,
    )
    sim, motion, palm, _ = person_sim(config, steps=200)
    for _ in range(200):
        motion.advance(sim)
        assert not sim.step().any()
    assert np.isfinite(sim.site_xpos[0, palm]).all()


def support_and_weight_n(sim: Simulation, model, body) -> tuple[float, float]:
    """(upward contact force on the person from everything else, the person's weight) in simulation 0, in N,
    from a copy of the model carrying simulation 0's own values (the person's size and masses)."""
    own = sim.batch.get_model(0)
    data = mujoco.MjData(own)
    mujoco.mj_setState(own, data, sim.state(0), mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(own, data)
    person = {model.body(name).id for name in body.moving_bodies}
    support, wrench = 0.0, np.zeros(6)
    for i, contact in enumerate(data.contact[: data.ncon]):
        on_person = [contact.geom[k] >= 0 and model.geom_bodyid[contact.geom[k]] in person for k in (0, 1)]
        if on_person[0] == on_person[1]:
            continue
        mujoco.mj_contactForce(own, data, i, wrench)
        upward = (contact.frame.reshape(3, 3).T @ wrench[:3])[2]  # the force on the second geom, in world
        support += upward if on_person[1] else -upward
    weight = -own.opt.gravity[2] * own.body_mass[sorted(person)].sum()
    return support, weight


@pytest.mark.parametrize("posture", POSTURES)
def test_the_furniture_carries_the_whole_weight(posture):
    config = HumanConfig(posture=posture, body_mass_kg=62.0)  # heavier than the body was built (49.3 kg)
    sim, motion, _, model = person_sim(config, steps=100)
    for _ in range(100):
        motion.advance(sim)
        assert not sim.step().any()
    support, weight = support_and_weight_n(sim, model, motion.body)
    assert weight == pytest.approx(62.0 * 9.81, rel=1e-6)
    assert support == pytest.approx(weight, rel=0.05)


@pytest.mark.parametrize("task_id", [HANDOVER, "embodia/BedBathing-v0"])
def test_a_person_starts_at_rest_in_their_furniture(task_id):
    env = make_batched(task_id, 1)
    env.reset(seeds=[3])
    person = env.task.person
    start = env.sim.qpos[0, person.root_qpos : person.root_qpos + 3].copy()
    for _ in range(20):
        env.step(np.zeros((1, env.controller.action_dim)))
    moved = np.linalg.norm(env.sim.qpos[0, person.root_qpos : person.root_qpos + 3] - start)
    support, weight = support_and_weight_n(env.sim, env.sim.model, person.body)
    env.close()
    assert moved < 0.004  # settled already: no drop into the seat at the start of an episode
    assert support == pytest.approx(weight, rel=0.05)


def test_the_drift_and_head_turn_processes_are_the_step_by_step_recurrences_bit_for_bit():
    """The processes run as Python-float recurrences for speed; they must equal the plain loop exactly, since a
    recorded episode's person moves with them."""
    from types import SimpleNamespace

    from embodia.envs.human import motion as human_motion

    owner = SimpleNamespace(dt=0.05, steps=201)

    def reference(rng, person, stature_m):
        decay = np.exp(-owner.dt / human_motion.DRIFT_TIME_CONSTANT_S)
        lengths = anthropometry.segment_lengths_m(stature_m)
        spread = person.hand_drift_m / (lengths["upper_arm"] + lengths["forearm"])
        noise = rng.standard_normal((owner.steps, len(human_motion.DRIFT_JOINTS)))
        drift = np.empty_like(noise)
        drift[0] = spread * noise[0]
        for t in range(1, owner.steps):
            drift[t] = decay * drift[t - 1] + spread * np.sqrt(1.0 - decay**2) * noise[t]
        events = rng.uniform(size=owner.steps) < person.head_turn_rate_hz * owner.dt
        goals = rng.uniform(-human_motion.HEAD_TURN_MAX_RAD, human_motion.HEAD_TURN_MAX_RAD, size=owner.steps)
        goals = goals * person.rom_scale
        follow = 1.0 - np.exp(-owner.dt / human_motion.HEAD_TURN_TIME_CONSTANT_S)
        head, goal = np.zeros(owner.steps), 0.0
        for t in range(1, owner.steps):
            goal = goals[t] if events[t] else goal
            head[t] = head[t - 1] + follow * (goal - head[t - 1])
        return drift, head

    for seed in range(40):
        for rate_hz in (0.0, 0.2, 1.0):
            person = dataclasses.replace(HumanConfig(), hand_drift_m=0.004, head_turn_rate_hz=rate_hz, rom_scale=0.8)
            expected = reference(np.random.default_rng(seed), person, 1.62)
            got = human_motion.HumanMotion._sample_processes(owner, np.random.default_rng(seed), person, 1.62)
            for want, have in zip(expected, got, strict=True):
                assert np.array_equal(want, have) and np.array_equal(np.signbit(want), np.signbit(have))
