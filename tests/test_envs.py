"""Gymnasium and stable-baselines3 contracts, determinism, vector autoreset, rendering, observation modes."""

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from embodia.envs.core.batched_env import make_batched
from embodia.envs.tasks.registry import TASKS


def test_gymnasium_check_env(task_id):
    env = gym.make(task_id, render_mode="rgb_array", render_size=(96, 128), render_preset="fast")
    check_env(env.unwrapped)
    env.close()


def test_stable_baselines3_check_env(task_id):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(task_id)
    sb3_check_env(env, warn=False)
    flat = gym.make(task_id, obs_mode="flat")
    sb3_check_env(flat, warn=False)


def rollout(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for action in actions:
        obs, reward, *_ = env.step(action)
        observations.append(obs)
        rewards.append(reward)
    return observations, np.array(rewards)


def test_same_seed_same_episode_single_and_vector(task_id):
    actions = np.random.default_rng(3).uniform(-1, 1, size=(25, 3, 7)).astype(np.float32)
    vector = gym.make_vec(task_id, num_envs=3)
    obs, _ = vector.reset(seed=100)
    vector_obs, vector_rewards = [obs], []
    for step_actions in actions:
        obs, reward, *_ = vector.step(step_actions)
        vector_obs.append(obs)
        vector_rewards.append(reward)
    vector_rewards = np.array(vector_rewards)
    for slot in (0, 2):
        single = gym.make(task_id)
        observations, rewards = rollout(single, 100 + slot, actions[:, slot])
        assert np.array_equal(rewards, vector_rewards[:, slot])
        for t, obs in enumerate(observations):
            for key, value in obs.items():
                assert np.array_equal(value, vector_obs[t][key][slot]), (key, t)
    again = gym.make(task_id)
    assert np.array_equal(rollout(again, 102, actions[:, 2])[1], vector_rewards[:, 2])


def test_different_seeds_differ(task_id):
    env = gym.make(task_id)
    first, _ = env.reset(seed=1)
    second, _ = env.reset(seed=2)
    key = sorted(k for k in first if k.startswith("task_"))[0]
    assert not np.array_equal(first[key], second[key])


def test_vector_env_autoresets_in_the_same_step():
    vector = gym.make_vec("embodia/BinPicking-v0", num_envs=2, episode_steps=4)
    assert vector.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    obs, _ = vector.reset(seed=0)
    first_part = obs["task_part_pos"].copy()
    for _ in range(4):
        obs, _, _, truncated, info = vector.step(np.zeros((2, 7), dtype=np.float32))
    assert truncated.all()
    assert info["_final_obs"].all()
    final = info["final_obs"][0]["task_part_pos"]
    assert np.allclose(final, first_part[0], atol=0.01)  # the ended episode's last observation
    assert not np.allclose(obs["task_part_pos"][0], final)  # already the next episode


def test_render_is_not_blank(task_id):
    env = gym.make(task_id, render_mode="rgb_array", render_size=(120, 160))
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
    assert frame.std() > 20 and len(np.unique(frame.reshape(-1, 3), axis=0)) > 200


def test_pixel_observations_rgb_and_depth():
    env = gym.make("embodia/Handover-v0", obs_mode="pixels", cameras=("front", "robot/wrist"), image_size=(64, 80),
                   depth=True)  # fmt: skip
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    image = obs["camera_front"]
    assert image.shape == (64, 80, 3) and image.std() > 10
    depth = obs["depth_robot_wrist"]
    assert depth.shape == (64, 80, 1) and np.isfinite(depth).all() and 0.01 < depth.min() < 0.5 < depth.max()


def test_flat_observation_is_the_dict_in_key_order():
    flat_env = gym.make("embodia/BinPicking-v0", obs_mode="flat")
    dict_env = gym.make("embodia/BinPicking-v0")
    flat, _ = flat_env.reset(seed=5)
    as_dict, _ = dict_env.reset(seed=5)
    layout = flat_env.unwrapped.core.flat_layout()
    assert flat.shape == flat_env.observation_space.shape
    for key, where in layout.items():
        assert np.array_equal(flat[where], as_dict[key].ravel())


@pytest.mark.parametrize("mode", ["joint_delta", "joint_abs"])
def test_joint_control_modes_move_the_arm(mode):
    env = gym.make("embodia/BinPicking-v0", control_mode=mode)
    obs, _ = env.reset(seed=0)
    assert env.action_space.shape == (8,)
    action = np.zeros(8, dtype=np.float32)
    action[0] = 0.5
    for _ in range(5):
        moved, *_ = env.step(action)
    assert abs(moved["robot_joint_pos"][0] - obs["robot_joint_pos"][0]) > 0.05


def test_ee_delta_moves_the_tcp_where_commanded():
    env = gym.make("embodia/Handover-v0")
    obs, _ = env.reset(seed=0)
    start = obs["robot_tcp_pos"].copy()
    action = np.zeros(7, dtype=np.float32)
    action[1] = 1.0  # +y at 0.025 m per step
    for _ in range(8):
        obs, *_ = env.step(action)
    moved = obs["robot_tcp_pos"] - start
    assert 0.12 < moved[1] < 0.22 and np.abs(moved[[0, 2]]).max() < 0.02


def _moved_then_released(env_id: str, move: dict[int, float], steps: int) -> tuple[dict, dict, gym.Env]:
    """The observations just after an ``ee_delta`` arm action ``move`` (dimension -> value) held for ``steps`` and
    then three zero actions (the servo settles), and the env, ready for more zero actions."""
    env = gym.make(env_id, episode_steps=steps + 60)
    obs, _ = env.reset(seed=0)
    action = np.zeros(7, dtype=np.float32)
    action[6] = 1.0  # jaws open, as they start
    for dim, value in move.items():
        action[dim] = value
    for _ in range(steps):
        obs, *_ = env.step(action)
    action[:6] = 0.0
    for _ in range(3):
        obs, *_ = env.step(action)
    return obs, action, env


@pytest.mark.parametrize("move", [{2: 0.5}, {2: -0.5}, {0: 0.3, 2: 0.5, 5: 0.3}])
def test_ee_delta_holds_the_tcp_still_on_a_zero_arm_action(move):
    """The pull towards the home posture acts in the null space only: the TCP does not creep back towards home
    (with the damped projector it crept 0.5-1.5 mm a step after a lift of 10-20 cm)."""
    obs, hold, env = _moved_then_released("embodia/Reach-v0", move, 24)
    start_pos, start_quat = obs["robot_tcp_pos"].copy(), obs["robot_tcp_quat"].copy()
    for _ in range(10):
        obs, *_ = env.step(hold)
    moved_mm = np.linalg.norm(obs["robot_tcp_pos"] - start_pos) * 1e3
    turned_deg = np.degrees(2 * np.arccos(min(1.0, abs(float(np.dot(obs["robot_tcp_quat"], start_quat))))))
    assert moved_mm < 0.5, f"the TCP crept {moved_mm:.2f} mm in 10 steps of zero action"
    assert turned_deg < 0.2, f"the TCP turned {turned_deg:.3f} degrees in 10 steps of zero action"


def test_ee_delta_still_pulls_the_elbow_home_while_the_tcp_holds():
    obs, hold, env = _moved_then_released("embodia/Reach-v0", {0: 0.3, 2: 0.5, 5: 0.3}, 24)
    home = env.unwrapped.core.robot.home_qpos
    start_pos, start_off_home = obs["robot_tcp_pos"].copy(), np.linalg.norm(obs["robot_joint_pos"] - home)
    for _ in range(40):
        obs, *_ = env.step(hold)
    assert np.linalg.norm(obs["robot_joint_pos"] - home) < start_off_home - 0.005  # the joints moved homewards
    assert np.linalg.norm(obs["robot_tcp_pos"] - start_pos) < 0.002  # the TCP stayed within 2 mm


def test_grip_force_and_touch_in_newtons():
    from embodia.agents.experts.bin_picking import BinPickingExpert

    env = make_batched("embodia/BinPicking-v0", 1, touch=True)
    expert = BinPickingExpert(1)
    obs, info = env.reset(seeds=[0])
    expert.reset(np.arange(1))
    touches = []
    for _ in range(70):
        obs, _, _, _, info = env.step(expert.act(obs, info))
        if info["grasped"][0]:
            touches.append(obs["robot_touch"][0])
    assert len(touches) > 10
    # the Franka Hand's continuous grasp force, 70 N, presses on each pad
    assert np.allclose(np.median(touches, axis=0), 70.0, atol=3.0)
    assert env.sim.actuator_force[0, env.robot.gripper_actuator] == pytest.approx(-70.0)


def test_import_and_step_do_not_import_torch():
    code = (
        "import sys, gymnasium, embodia\n"
        "env = gymnasium.make('embodia/BinPicking-v0'); env.reset(seed=0); env.step(env.action_space.sample())\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_task_is_registered_with_a_vector_entry_point():
    for task_id in TASKS:
        spec = gym.spec(task_id)
        made = gym.make(task_id).spec  # the env truncates itself; its spec reports the length in force
        assert spec.vector_entry_point is not None and made.max_episode_steps == TASKS[task_id].episode_steps


def test_a_simulation_does_not_depend_on_how_many_run_beside_it(task_id):
    """Bit-identical expert trajectories at batch sizes 1 and 5 (no batch-size-dependent summation order)."""
    from embodia.agents.experts import make_expert

    trajectories = {}
    for n in (1, 5):
        env = make_batched(task_id, n)
        expert = make_expert(task_id, n)
        obs, info = env.reset(seeds=[42 + k for k in range(n)])
        expert.reset(np.arange(n))
        rewards, positions = [], []
        for _ in range(60):
            obs, reward, _, _, info = env.step(expert.act(obs, info))
            rewards.append(reward[0])
            positions.append(obs["robot_tcp_pos"][0])
        trajectories[n] = (np.array(rewards), np.array(positions))
    assert np.array_equal(trajectories[1][0], trajectories[5][0])
    assert np.array_equal(trajectories[1][1], trajectories[5][1])


def test_tcp_jacobian_equals_mujocos():
    env = make_batched("embodia/BinPicking-v0", 3)
    env.reset(seeds=[0, 1, 2])
    for k in range(4):
        env.step(np.random.default_rng(k).uniform(-1, 1, (3, 7)))
    robot = env.robot
    jacp, jacr = env.sim.batch.jac(robot.hand_body, robot.tcp_pos(env.sim))
    expected = np.concatenate([jacp[:, :, robot.arm_dof], jacr[:, :, robot.arm_dof]], axis=1)
    assert np.abs(robot.tcp_jacobian(env.sim) - expected).max() < 1e-12
