"""ConveyorSort and Palletizing: success and fail criteria on real physics, randomization, rewards and options.

check_env, determinism and the experts' success on a seed sample run for these tasks through the registered-task
parametrisations in test_envs.py and test_experts.py.
"""

import numpy as np
import pytest

from embodia.envs.core.batched_env import BatchedEnv
from embodia.envs.tasks.factory import palletizing
from embodia.envs.tasks.factory.palletizing import BOX_HALF_M, Palletizing

OPEN_AND_HOLD = np.array([0, 0, 0, 0, 0, 0, 1.0])


def stack_boxes_in_slots(env: BatchedEnv, shift_m: dict[int, tuple[float, float]] | None = None) -> None:
    """Write every carton into its slot (optionally shifted), at rest, by setting the physics state."""
    task, sim = env.task, env.sim
    yaw = task._boxes(sim)[3]
    for k in range(task.num_boxes):
        adr = task.box_qpos[k]
        pos = sim.site_xpos[:, task.slot_sites[k]].copy()
        pos[:, :2] += (shift_m or {}).get(k, (0.0, 0.0))
        pos[:, 2] += 0.0005
        sim.qpos[:, adr : adr + 3] = pos
        sim.qpos[:, adr + 3 : adr + 7] = palletizing.yaw_quat(yaw[:, k])
        sim.qvel[:, task.box_qvel[k] : task.box_qvel[k] + 6] = 0.0
    sim.forward(sim.all_ids)


def settle(env: BatchedEnv, steps: int):
    action = np.tile(OPEN_AND_HOLD, (env.num_sims, 1))
    for _ in range(steps):
        _, reward, terminated, _, info = env.step(action)
    return reward, terminated, info


def test_palletizing_a_complete_settled_stack_succeeds_and_a_misplaced_carton_does_not():
    env = BatchedEnv(Palletizing, 2, terminate_on_success=False)
    env.reset(seeds=[0, 1])
    stack_boxes_in_slots(env)
    reward, _, info = settle(env, 10)
    assert info["success"].all() and (info["placed_count"] == 4).all()
    assert info["max_lateral_error_m"].max() < 0.003
    assert (reward >= env.config.w_progress + env.config.w_success).all()

    env.reset(seeds=[0, 1])
    stack_boxes_in_slots(env, shift_m={3: (0.0, 0.03)})  # the top carton 3 cm off its slot
    _, _, info = settle(env, 10)
    assert not info["success"].any()
    assert (info["placed_count"] == 3).all() and (info["next_box"] == 3).all()


def test_palletizing_a_moving_stack_is_not_yet_a_success():
    env = BatchedEnv(Palletizing, 1, terminate_on_success=False)
    env.reset(seeds=[4])
    stack_boxes_in_slots(env)
    top = env.task.box_qvel[3]
    env.sim.qvel[0, top + 3] = 2.0  # the top carton spinning about x: tipping over
    env.sim.forward(env.sim.all_ids)
    assert not env.task.evaluate(env.sim)["stack_settled"][0]
    assert not env.task.evaluate(env.sim)["success"][0]


def test_palletizing_sparse_reward_is_success_only():
    env = BatchedEnv(Palletizing, 1, reward_mode="sparse", terminate_on_success=False)
    env.reset(seeds=[0])
    _, reward, _, _, _ = env.step(np.tile(OPEN_AND_HOLD, (1, 1)))
    assert reward[0] == 0.0
    stack_boxes_in_slots(env)
    reward, _, info = settle(env, 5)
    assert info["success"][0] and reward[0] == 1.0


def test_palletizing_randomizes_masses_friction_and_poses_within_their_ranges():
    env = BatchedEnv(Palletizing, 3)
    _, info = env.reset(seeds=[0, 1, 2])
    cfg, task = env.config, env.task
    masses = env.sim.per_sim_model_field("body_mass")[:, task.box_bodies]
    friction = env.sim.per_sim_model_field("geom_friction")[:, task.box_geoms, 0]
    assert cfg.box_mass_kg[0] <= masses.min() and masses.max() <= cfg.box_mass_kg[1]
    assert cfg.box_friction[0] <= friction.min() and friction.max() <= cfg.box_friction[1]
    assert len(np.unique(masses)) == masses.size
    boxes = info["state"]["box_pos"]
    offsets = boxes[:, :, :2] - palletizing.QUEUE_XY[: task.num_boxes]
    assert np.abs(offsets).max() <= cfg.infeed_jitter_m and not np.allclose(boxes[0], boxes[1])
    assert np.allclose(boxes[:, :, 2], palletizing.INFEED_TOP_Z + BOX_HALF_M[2] + 0.001)


def test_palletizing_layers_option_sets_the_number_of_cartons_and_rejects_bad_values():
    env = BatchedEnv(Palletizing, 1, layers=3)
    obs, _ = env.reset(seeds=[0])
    assert obs["task_box_pos"].shape == (1, 18) and obs["task_next_box"].shape == (1, 7)
    centres, yaws = palletizing.layer_pattern(3)
    assert np.allclose(centres[:, 2], palletizing.PALLET_HEIGHT_M + BOX_HALF_M[2] * np.array([1, 1, 3, 3, 5, 5]))
    assert np.allclose(yaws, [np.pi / 2, np.pi / 2, 0, 0, np.pi / 2, np.pi / 2])
    with pytest.raises(ValueError, match="layers=4 is not valid"):
        BatchedEnv(Palletizing, 1, layers=4)


def test_palletizing_dense_reward_pays_for_each_carton_placed():
    """Placing a carton raises the reward more than the next carton's shaping terms can lose."""
    cfg = palletizing.PalletizingConfig()
    shaping = cfg.w_reach + cfg.w_grasp + cfg.w_carry + cfg.w_place
    for layers in range(1, palletizing.MAX_LAYERS + 1):
        assert cfg.w_progress / (2 * layers) > shaping


# ------------------------------------------------------------------------------------------ ConveyorSort
from embodia.envs.tasks.factory import conveyor_sort  # noqa: E402
from embodia.envs.tasks.factory.conveyor_sort import ConveyorSort  # noqa: E402


def test_conveyor_belt_carries_parts_at_its_speed_and_runs_on_past_its_wrap_period():
    env = BatchedEnv(ConveyorSort, 2, first_arrival_s=(0.2, 0.2), terminate_on_success=False)
    env.reset(seeds=[0, 1])
    task, sim = env.task, env.sim
    speed = sim.ctrl[:, task.belt_actuator].copy()
    assert (speed >= 0.04).all() and (speed <= 0.06).all() and speed[0] != speed[1]
    first = np.argmin(task.arrival_s, axis=1)
    rows = np.arange(2)
    ys, belt = [], []
    for _ in range(60):  # 3 s: the belt wraps several times (every 4 cm)
        _, _, _, _, info = env.step(np.tile(OPEN_AND_HOLD, (2, 1)))
        ys.append(info["state"]["part_pos"][rows, first, 1])
        belt.append(sim.qpos[:, task.belt_qpos].copy())
    ys, belt = np.array(ys), np.array(belt)
    one_step_m = 0.06 * env.config.control_dt_s
    assert (belt >= 0).all() and (belt < conveyor_sort.BELT_WRAP_M + one_step_m).all()
    assert ((np.diff(belt, axis=0) < 0).sum(axis=0) >= 2).all()  # shifted back at least twice
    travelled = ys[-1] - ys[10]
    assert np.allclose(travelled / (50 * env.config.control_dt_s), speed, rtol=0.03)
    steps = np.diff(ys[10:], axis=0) / env.config.control_dt_s  # no jolt when the belt is shifted back
    assert np.abs(steps - speed).max() < 0.005


def test_conveyor_parts_arrive_at_their_times_and_an_unpicked_part_is_missed():
    env = BatchedEnv(ConveyorSort, 1, terminate_on_success=False)
    _, info = env.reset(seeds=[3])
    task = env.task
    assert (info["state"]["part_pos"][0, :, 0] < conveyor_sort.PARK_X / 2).all()
    arrival = task.arrival_s[0]
    seen = np.full(conveyor_sort.NUM_PARTS, np.inf)
    for step in range(380):  # 19 s: parts ride the 0.96 m belt in 16-24 s
        *_, info = env.step(np.tile(OPEN_AND_HOLD, (1, 1)))
        on = info["state"]["part_on_belt"][0] | (info["state"]["part_pos"][0, :, 0] > 0)
        seen = np.where(on & np.isinf(seen), (step + 1) * env.config.control_dt_s, seen)
    arrived = np.isfinite(seen)
    assert np.allclose(seen[arrived], np.ceil(arrival[arrived] / 0.05) * 0.05, atol=0.051)
    assert info["missed_count"][0] >= 1 and not info["fail"][0] and info["sorted_count"][0] == 0
    assert info["sort_accuracy"][0] == 0.0


def test_conveyor_sort_counts_right_and_wrong_bins_and_succeeds_when_all_are_sorted():
    env = BatchedEnv(ConveyorSort, 1, terminate_on_success=False)
    env.reset(seeds=[0])
    task, sim = env.task, env.sim

    def drop_into_bins(bin_of_part):
        for k, b in enumerate(bin_of_part):
            adr = task.part_qpos[k]
            sim.qpos[0, adr : adr + 3] = task.bin_pos[b] + [0.0, 0.0, 0.03 + 0.03 * (k // 3)]
            sim.qvel[0, task.part_qvel[k] : task.part_qvel[k] + 6] = 0.0
        sim.forward(sim.all_ids)

    wrong = conveyor_sort.PART_KIND.copy()
    wrong[0] = (wrong[0] + 1) % 3
    drop_into_bins(wrong)
    _, _, _, _, info = env.step(np.tile(OPEN_AND_HOLD, (1, 1)))
    for _ in range(10):
        _, reward, _, _, info = env.step(np.tile(OPEN_AND_HOLD, (1, 1)))
    assert info["sorted_count"][0] == 5 and info["missorted_count"][0] == 1 and not info["success"][0]
    assert info["sort_accuracy"][0] == pytest.approx(5 / 6)

    env.reset(seeds=[0])
    drop_into_bins(conveyor_sort.PART_KIND)
    for _ in range(10):
        _, reward, _, _, info = env.step(np.tile(OPEN_AND_HOLD, (1, 1)))
    assert info["success"][0] and info["sorted_count"][0] == 6 and info["throughput_per_min"][0] > 0
    assert reward[0] == pytest.approx(sum(env.reward_weights[t] for t in ("progress", "no_mistakes", "success")))


def test_conveyor_sort_rejects_an_empty_range():
    with pytest.raises(ValueError, match=r"belt_speed_m_s=\(0.06, 0.04\) is not valid"):
        BatchedEnv(ConveyorSort, 1, belt_speed_m_s=(0.06, 0.04))


def test_conveyor_sort_shows_the_part_the_expert_picks_next_with_its_orientation_and_kind():
    """The next part is the most downstream one that can still be caught (before ``LAST_PICK_Y``), as the expert
    picks it; its orientation and kind are what a clone turns the jaw and chooses the bin by."""
    from embodia.envs.tasks.factory.conveyor_sort import KINDS, LAST_PICK_Y, PART_KIND

    env = BatchedEnv(ConveyorSort, 1, first_arrival_s=(0.2, 0.2), arrival_interval_s=(0.5, 0.5),
                     terminate_on_success=False)  # fmt: skip
    env.reset(seeds=[3])
    task, seen_past_line = env.task, False
    for _ in range(300):
        obs, *_ = env.step(np.zeros((1, env.single_action_space.shape[0])))
        pos = env.sim.xpos[0, task.part_bodies]
        on_belt = task.on_belt[0]
        catchable = on_belt & (pos[:, 1] < LAST_PICK_Y)
        seen_past_line |= bool((on_belt & (pos[:, 1] >= LAST_PICK_Y)).any())
        nxt = int(task.next_part[0])
        if not catchable.any():
            assert nxt == -1 and not obs["task_next_part_kind"].any()
            continue
        assert nxt == int(np.argmax(np.where(catchable, pos[:, 1], -np.inf)))
        np.testing.assert_allclose(obs["task_next_part_quat"][0], env.sim.xquat[0, task.part_bodies[nxt]], atol=1e-6)
        np.testing.assert_array_equal(obs["task_next_part_kind"][0], np.eye(len(KINDS))[PART_KIND[nxt]])
    assert seen_past_line  # a part rode past the last pick line, and was no longer the one to pick
