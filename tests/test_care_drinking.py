"""Drinking: water poured at the lips is caught in the mouth, the share and upright figures, safety accounting
on the face, config errors and the expert.

check_env, determinism (single vs vector) and exact replay run for every registered task in test_envs.py and
test_replay.py.
"""

import numpy as np
import pytest
from mouth_support import head_point, hold_still, make, place_particles, pushing_expert, run_expert

TASK = "embodia/Drinking-v0"
STILL = {"tremor": False, "voluntary_motion": False}


def water_at_the_lips(env, count: int) -> dict[int, np.ndarray]:
    """``count`` water spheres in a column 2 cm in front of the lips, above where a tipped cup pours."""
    return {j: head_point(env, [0.02, 0.012 * (j % 3 - 1), 0.01 + 0.012 * (j // 3)]) for j in range(count)}


def test_water_starts_in_the_cup_and_half_of_it_in_the_mouth_succeeds_only_upright():
    env = make(TASK, 1, **STILL)
    _, info = env.reset(seeds=[0])
    assert info["in_vessel_share"][0] == 1.0
    place_particles(env, water_at_the_lips(env, 10))
    info = hold_still(env, 40)
    assert info["in_mouth_share"][0] == pytest.approx(0.5) and info["in_vessel_share"][0] == pytest.approx(0.5)
    assert info["success"][0]
    # the same state with the cup tipped 0.8 rad (wrist joint 6): not upright, no success
    task, sim = env.task, env.sim
    joint6 = sim.model.jnt_qposadr[sim.model.joint("robot/joint6").id]
    sim.qpos[0, joint6] += 0.8
    sim.forward(np.array([0]))
    ev = task.evaluate(sim)
    assert ev["vessel_tilt_rad"][0] > np.deg2rad(30) and ev["in_mouth_share"][0] == pytest.approx(0.5)
    assert not ev["success"][0]


def test_fewer_than_half_in_the_mouth_is_not_enough():
    env = make(TASK, 1, **STILL)
    env.reset(seeds=[1])
    place_particles(env, water_at_the_lips(env, 9))
    info = hold_still(env, 40)
    assert info["in_mouth_share"][0] == pytest.approx(0.45) and not info["success"][0]


def test_the_cup_pushed_into_the_face_is_measured_on_the_face_and_ends_the_episode():
    success, fail, peak_face_n, transient = run_expert(
        TASK, [0], pushing_expert(TASK, 1), terminate_on_safety_violation=True, **STILL
    )
    assert peak_face_n[0] > 0 and transient[0] and fail[0] and not success[0]


def test_expert_gives_a_moving_trembling_person_a_drink_without_touching_the_face():
    success, _, peak_face_n, transient = run_expert(TASK, list(range(6)), tremor=True)
    assert success.all() and not transient.any() and (peak_face_n == 0).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"required_share": 1.5}, "required_share=1.5"),
        ({"particle_friction": (0.0, 0.5)}, "particle_friction"),
        ({"neck_flexion_rad": (0.3, 0.1)}, "neck_flexion_rad"),
    ],
)
def test_bad_config_raises_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(TASK, 1, **kwargs)
