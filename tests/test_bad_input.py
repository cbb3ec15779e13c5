"""Bad input gets a clear error naming the value; out-of-range actions are clipped; blow-ups truncate."""

import gymnasium as gym
import numpy as np
import pytest

from embodia.envs.core.batched_env import make_batched
from embodia.envs.tasks.registry import TASKS, task_spec


@pytest.fixture
def env():
    env = gym.make("embodia/BinPicking-v0")
    env.reset(seed=0)
    return env


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_action_raises(env, bad):
    action = np.zeros(7, dtype=np.float32)
    action[2] = bad
    with pytest.raises(ValueError, match=r"non-finite value \((nan|inf|-inf)\) at index \(2,\)$"):
        env.step(action)


def test_non_finite_action_of_a_vector_env_names_env_and_dimension():
    vector = gym.make_vec("embodia/Reach-v0", num_envs=3)
    vector.reset(seed=0)
    actions = np.zeros((3, 7))
    actions[1, 4] = np.nan
    with pytest.raises(ValueError, match=r"non-finite value \(nan\) at index \(1, 4\)"):
        vector.step(actions)


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        (np.zeros(7, dtype=complex), "complex numbers"),
        (np.full(7, 0.5 + 0.5j), "complex numbers"),
        (np.array(["0.1"] * 7), "strings"),
        (["0"] * 7, "strings"),
        (np.zeros(7, dtype=bool), "booleans"),
        ([True] * 7, "booleans"),
        ([0.1, None, 0, 0, 0, 0, 0], "Python objects"),
        (np.array([b"0"] * 7), "bytes"),
        ("0000000", "strings"),
        (np.zeros(7, dtype="datetime64[s]"), "datetimes"),
    ],
)
def test_actions_that_are_not_real_numbers_raise(env, action, kind):
    with pytest.raises(ValueError, match=rf"action has dtype .* \({kind}\); expected real numbers in \[-1, 1\]"):
        env.step(action)


def test_actions_that_are_not_real_numbers_raise_in_a_vector_env():
    vector = gym.make_vec("embodia/Reach-v0", num_envs=2)
    vector.reset(seed=0)
    for bad in (np.zeros((2, 7), dtype=complex), np.zeros((2, 7), dtype=bool), np.full((2, 7), "0")):
        with pytest.raises(ValueError, match=r"expected real numbers .* of shape \(2, 7\)"):
            vector.step(bad)


@pytest.mark.parametrize(
    "action",
    [
        [0.0] * 7,
        np.zeros(7, dtype=np.int64),
        np.zeros(7, dtype=np.float16),
        np.zeros(7, dtype=np.uint8),
        tuple(np.zeros(7, dtype=np.float32)),
    ],
)
def test_real_actions_of_any_numeric_type_step_alike(action):
    reference, other = gym.make("embodia/Reach-v0"), gym.make("embodia/Reach-v0")
    reference.reset(seed=3)
    other.reset(seed=3)
    expected = reference.step(np.zeros(7, dtype=np.float32))[0]
    got = other.step(action)[0]
    for key in expected:
        assert np.array_equal(expected[key], got[key]), key


@pytest.mark.parametrize("shape", [(6,), (8,), (1, 7), ()])
def test_wrong_action_shape_raises(env, shape):
    with pytest.raises(ValueError, match=r"expected \(7,\)"):
        env.step(np.zeros(shape, dtype=np.float32))


def test_out_of_range_actions_are_clipped():
    clipped, raw = gym.make("embodia/BinPicking-v0"), gym.make("embodia/BinPicking-v0")
    clipped.reset(seed=1)
    raw.reset(seed=1)
    big = np.array([5, -3, 2, 0, 9, -9, 4], dtype=np.float32)
    first = raw.step(big)[0]
    second = clipped.step(np.clip(big, -1, 1))[0]
    for key in first:
        assert np.array_equal(first[key], second[key])


def test_unknown_kwarg_lists_the_valid_ones():
    with pytest.raises(TypeError, match=r"unknown option\(s\) frobnicate.*valid:.*control_mode.*reward_mode"):
        gym.make("embodia/Handover-v0", frobnicate=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"control_mode": "torque"}, "valid: ee_delta, joint_delta, joint_abs"),
        ({"obs_mode": "points"}, "valid: dict, flat, pixels"),
        ({"reward_mode": "shaped"}, "valid: dense, sparse"),
        ({"render_preset": "ultra", "render_mode": "rgb_array"}, "valid: fast, quality"),
        ({"cameras": ("nowhere",), "obs_mode": "pixels"}, "unknown camera 'nowhere'"),
    ],
)
def test_invalid_option_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        env = gym.make("embodia/BinPicking-v0", **kwargs)
        env.reset(seed=0)
        env.render()


def test_unknown_task_lists_the_valid_ones():
    with pytest.raises(KeyError, match="unknown task 'embodia/Juggling-v0'; valid: ") as raised:
        task_spec("embodia/Juggling-v0")
    assert all(env_id in str(raised.value) for env_id in TASKS)


def test_physics_blow_up_truncates_with_finite_observation():
    env = gym.make("embodia/BinPicking-v0")
    obs, _ = env.reset(seed=0)
    core = env.unwrapped.core
    part_dof = core.task.part_qvel[0]
    core.sim.qvel[0, part_dof : part_dof + 3] = 1e30  # a state no integrator survives
    obs, reward, terminated, truncated, info = env.step(np.zeros(7, dtype=np.float32))
    assert info["physics_unstable"] is True
    assert truncated and not terminated and reward == 0.0
    assert all(np.isfinite(value).all() for value in obs.values())
    obs, _ = env.reset(seed=0)  # the env recovers
    assert all(np.isfinite(value).all() for value in obs.values())


@pytest.mark.parametrize(
    ("seed", "error", "match"),
    [
        (1.5, TypeError, r"seed=1.5 has type float; expected an integer, a list of 2 seeds"),
        ("abc", TypeError, r"seed='abc' has type str"),
        (True, TypeError, r"seed=True has type bool"),
        (-1, ValueError, r"seed=-1 is out of range; valid: a non-negative integer or None"),
        ([0, "a"], TypeError, r"seed='a' has type str; expected a non-negative integer or None"),
        ([0, -3], ValueError, r"seed=-3 is out of range"),
        ([0, 1, 2], ValueError, "got 3 seeds for 2 environments"),
    ],
)
def test_bad_vector_seeds_raise(seed, error, match):
    vector = gym.make_vec("embodia/Reach-v0", num_envs=2)
    with pytest.raises(error, match=match):
        vector.reset(seed=seed)
    vector.reset(seed=[3, None])  # valid: one seed or None per environment


def test_bad_reset_masks_and_simulation_ids_raise():

    vector = gym.make_vec("embodia/Reach-v0", num_envs=2)
    vector.reset(seed=0)
    for mask in ([True], [1, 0], np.ones((2, 1), dtype=bool)):
        with pytest.raises(ValueError, match=r"reset_mask has shape .*; valid: \(2,\) booleans"):
            vector.reset(options={"reset_mask": mask})
    vector.reset(options={"reset_mask": np.array([False, True])})
    core = make_batched("embodia/Reach-v0", 2)
    for ids in ([2], [-1], [0, 0], [[0]], [0.5]):
        with pytest.raises(ValueError, match=r"simulation ids .* are not valid"):
            core.reset(ids)
    with pytest.raises(gym.error.Error, match="Seed must be"):
        gym.make("embodia/Reach-v0").reset(seed=-1)
