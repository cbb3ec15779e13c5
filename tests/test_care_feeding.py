"""Feeding: the mouth cavity catches food at the lips, the food figures, safety accounting on the face, config
errors and the expert.

check_env, determinism (single vs vector) and exact replay run for every registered task in test_envs.py and
test_replay.py.
"""

import numpy as np
import pytest
from mouth_support import head_point, hold_still, make, place_particles, pushing_expert, run_expert

from embodia.envs.human.config import HumanConfig, HumanRanges

TASK = "embodia/Feeding-v0"
STILL = {"tremor": False, "voluntary_motion": False}


def test_food_starts_in_the_spoon_and_stays_there_while_the_arm_holds():
    env = make(TASK, 1, **STILL)
    _, info = env.reset(seeds=[0])
    assert info["in_vessel_share"][0] == 1.0 and info["in_mouth_share"][0] == 0.0
    info = hold_still(env, 20)
    assert info["in_vessel_share"][0] == 1.0 and info["spilt_share"][0] == 0.0 and not info["fail"][0]


def test_food_dropped_at_the_lips_passes_them_and_is_caught_in_the_mouth():
    env = make(TASK, 1, **STILL)
    env.reset(seeds=[1])
    # 2 cm in front of the lips and 1 cm above the mouth site: outside the head, where a tipped spoon drops it
    place_particles(env, {0: head_point(env, [0.02, 0.0, 0.01]), 1: head_point(env, [0.02, 0.012, 0.012])})
    info = hold_still(env, 30)
    assert info["in_mouth_share"][0] == pytest.approx(2 / 3)
    assert info["delivered"][0] and info["withdrawn"][0]  # the spoon is still at the robot's home pose
    assert info["success"][0]


def test_food_on_the_floor_is_spilt_and_costs_reward_but_does_not_end_the_episode():
    env = make(TASK, 1, **STILL)
    env.reset(seeds=[2])
    floor = np.array([0.3, -0.3, 0.01])
    place_particles(env, {0: floor})
    info = hold_still(env, 2)
    assert info["spilt_share"][0] == pytest.approx(1 / 3) and not info["success_out_of_reach"][0]
    assert info["reward_terms"]["spill"][0] == pytest.approx(1 / 3)
    place_particles(env, {1: floor + np.array([0.05, 0, 0])})
    info = hold_still(env, 1)
    assert info["spilt_share"][0] == pytest.approx(2 / 3) and info["success_out_of_reach"][0]
    assert not info["fail"][0]


def test_one_piece_in_the_mouth_is_not_enough():
    env = make(TASK, 1, **STILL)
    env.reset(seeds=[3])
    place_particles(env, {0: head_point(env, [-0.02, 0.0, 0.0])})
    info = hold_still(env, 5)
    assert info["in_mouth_share"][0] == pytest.approx(1 / 3) and not info["success"][0]


def test_the_spoon_pushed_into_the_face_is_measured_on_the_face_and_ends_the_episode():
    success, fail, peak_face_n, transient = run_expert(
        TASK, [0], pushing_expert(TASK, 1), terminate_on_safety_violation=True, **STILL
    )
    assert peak_face_n[0] > 0 and transient[0] and fail[0] and not success[0]


def test_expert_feeds_a_moving_trembling_person_without_touching_the_face():
    success, _, peak_face_n, transient = run_expert(TASK, list(range(8)), tremor=True)
    assert success.all() and not transient.any() and (peak_face_n == 0).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"required_share": 0.0}, "required_share=0.0"),
        ({"clearance_m": -0.1}, "clearance_m=-0.1"),
        ({"particle_mass_kg": (0.003, 0.001)}, "particle_mass_kg"),
        ({"neck_rotation_rad": (0.2, -0.2)}, "neck_rotation_rad"),
        ({"person_jitter_m": 0.5}, "person_jitter_m=0.5"),
        ({"human": HumanRanges(structure=HumanConfig(posture="supine_bed"))}, "posture='supine_bed'"),
        ({"human": HumanRanges(structure=HumanConfig(posture="seated_wheelchair"))}, "valid: seated_chair"),
    ],
)
def test_bad_config_raises_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(TASK, 1, **kwargs)
