"""BlanketCover: the coverage rule, the flex blanket in the batch, safety accounting, config errors and the expert.

check_env, determinism (single vs vector) and exact replay run for every registered task in test_envs.py and
test_replay.py.
"""

import mujoco
import numpy as np
import pytest

from embodia.agents.experts import make_expert, motion
from embodia.envs.core.batched_env import BatchedEnv, make_batched
from embodia.envs.human.config import HumanConfig, HumanRanges
from embodia.envs.scene import blanket

TASK = "embodia/BlanketCover-v0"


def make(num_sims: int = 1, **kwargs) -> BatchedEnv:
    return make_batched(TASK, num_sims, **kwargs)


def run_expert(env: BatchedEnv, seeds: list[int]) -> dict[str, np.ndarray]:
    """Run the scripted expert from ``seeds``; per-episode figures up to each episode's end."""
    n = len(seeds)
    expert = make_expert(TASK, n)
    obs, info = env.reset(seeds=seeds)
    expert.reset(np.arange(n))
    done = np.zeros(n, dtype=bool)
    out = {
        "start_coverage": info["coverage"].copy(),
        "coverage": np.zeros(n),
        "success": np.zeros(n, dtype=bool),
        "fail": np.zeros(n, dtype=bool),
        "peak_n": np.zeros(n),
        "transient": np.zeros(n, dtype=bool),
        "hem_force_n": np.zeros(n),
    }
    for _ in range(env.config.episode_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        live = ~done
        safety = info["safety"]
        out["peak_n"][live] = np.maximum(out["peak_n"][live], safety["max_contact_force_n"][live])
        out["transient"] |= live & safety["transient_exceeded"]
        out["coverage"][live] = info["coverage"][live]
        out["success"] |= live & info["success"]
        out["fail"] |= live & info["fail"]
        done |= terminated | truncated
        if done.all():
            break
    return out


def test_a_point_is_covered_only_under_the_cloth():
    """A flat 3 x 3 grid over [0, 1]^2 at z = 1 covers points beneath it, not points above it or beside it."""
    x, y = np.meshgrid(np.linspace(0, 1, 3), np.linspace(0, 1, 3), indexing="ij")
    grid = np.stack([x, y, np.ones_like(x)], axis=-1)[None]
    points = np.array([[[0.5, 0.5, 0.8], [0.1, 0.9, 0.995], [0.5, 0.5, 1.2], [1.2, 0.5, 0.8], [0.5, -0.1, 0.8]]])
    np.testing.assert_array_equal(blanket.covered(grid, points), [[True, True, False, False, False]])
    tilted = grid.copy()
    tilted[..., 2] = 1.0 + tilted[..., 0]  # rising along x: over (0.25, y) at 1.25
    points = np.array([[[0.25, 0.5, 1.2], [0.25, 0.5, 1.3]]])
    np.testing.assert_array_equal(blanket.covered(tilted, points), [[True, False]])


def test_the_blanket_starts_slid_down_and_the_leg_points_lie_on_the_legs():
    env = make(3)
    env.reset(seeds=[0, 1, 2])
    for _ in range(20):  # the dropped cloth settles on the legs and feet in the first steps; the arm holds still
        _, _, _, _, info = env.step(np.zeros((3, 7)))
    assert (info["coverage"] < 0.5).all()
    legs = info["state"]["leg_points"]
    assert legs.shape == (3, 20, 3)
    hips = info["state"]["hips_pos"]
    along = legs[:, :, 0] - hips[:, None, 0]
    assert (along > 0.0).all() and (along < 0.8).all()  # from the hips to the ankles
    assert (np.abs(legs[:, :, 2] - 0.69) < 0.05).all()  # the top of thighs and shanks on a 0.55 m mattress
    # the hem lies towards the feet, on the legs, and the cloth hangs over the foot end of the bed
    hem = info["state"]["hem_pos"]
    assert ((hem[:, 0] - hips[:, 0]) > 0.35).all()
    vertices = env.sim.xpos[:, env.task.vertex_bodies]
    assert (vertices[:, :, 2].min(axis=1) < 0.5).all()  # below the mattress top: over the foot end


def test_the_flex_blanket_steps_deterministically_in_the_batch():
    """The same seed gives the same cloth whether it runs alone or beside other simulations."""
    actions = np.random.default_rng(1).uniform(-1, 1, size=(10, 7))
    alone, pair = make(1), make(2)
    alone.reset(seeds=[4])
    pair.reset(seeds=[3, 4])
    for action in actions:
        alone.step(action[None])
        pair.step(np.stack([-action, action]))
    np.testing.assert_array_equal(
        alone.sim.xpos[0, alone.task.vertex_bodies], pair.sim.xpos[1, pair.task.vertex_bodies]
    )


def test_expert_covers_the_legs_without_a_transient_violation():
    out = run_expert(make(4), [0, 1, 2, 3])
    assert out["success"].all() and not out["fail"].any()
    assert (out["start_coverage"] <= 0.6).all() and (out["coverage"] >= 0.9).all()  # as dropped: half the legs
    assert not out["transient"].any()
    assert (out["peak_n"] < 30.0).all()


def test_safety_accounting_reads_the_hem_on_the_person_and_can_end_the_episode():
    out = run_expert(make(1, safety_limit_scale=1e-3, terminate_on_safety_violation=True), [0])
    assert out["peak_n"][0] > 0.5  # the hem, a measured tool, touches the legs or the belly
    assert out["fail"][0] and not out["success"][0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"coverage_required": 1.5}, "coverage_required=1.5"),
        ({"blanket_mass_kg": (1.0, 0.5)}, "blanket_mass_kg"),
        ({"blanket_mass_kg": (0.0, 0.5)}, "blanket_mass_kg"),
        ({"blanket_x_range_m": (0.1, 0.5)}, "blanket_x_range_m"),
        ({"bed_jitter_m": 0.5}, "bed_jitter_m=0.5"),
        ({"human": HumanRanges(structure=HumanConfig(posture="seated_chair"))}, "supine_bed"),
    ],
)
def test_bad_config_raises_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(1, **kwargs)


def test_blanket_shape_is_checked():
    with pytest.raises(ValueError, match="rows=1"):
        blanket.BlanketShape(rows=1)
    with pytest.raises(ValueError, match="spacing_m=0"):
        blanket.BlanketShape(spacing_m=0)


def robot_on_cloth_force_n(touches_robot: bool) -> float:
    """Press the closed jaws 3 cm down into the cloth where it lies on the mattress beside the right shin; the
    summed normal force of the robot's contacts with the cloth afterwards, in newtons. The person is a woman of
    median stature (where the cloth lies beside the shin depends on the legs)."""
    median = HumanRanges(structure=HumanConfig(posture="supine_bed"), sexes=("female",), stature_percentile=(50, 50))
    env = make(1, cloth_touches_robot=touches_robot, human=median)
    env.reset(seeds=[0])
    for _ in range(20):  # let the dropped cloth settle
        _, _, _, _, info = env.step(np.zeros((1, 7)))
    grid = env.sim.xpos[0, env.task.vertex_bodies].reshape(blanket.BlanketShape().rows, -1, 3)
    spot = grid[2, 0]  # the robot's side edge, over the mattress
    for k in range(90):
        state = info["state"]
        target = spot + np.array([0.0, 0.0, 0.12 if k < 60 else -0.03])
        action = np.zeros((1, 7))
        action[:, :3] = motion.translate(state["tcp_pos"], target[None], max_speed=0.5 if k >= 60 else 1.0)
        action[:, 3:6] = motion.point_down(state["tcp_xmat"], np.zeros(1))
        action[:, 6] = motion.GRIPPER_CLOSE
        _, _, _, _, info = env.step(action)
    model = env.sim.batch.get_model(0)  # the person's own size
    data = mujoco.MjData(model)
    mujoco.mj_setState(model, data, env.sim.state(0), mujoco.mjtState.mjSTATE_INTEGRATION)
    mujoco.mj_forward(model, data)
    robot_geoms = {model.geom(i).id for i in range(model.ngeom) if model.geom(i).name.startswith("robot/")}
    wrench, total = np.zeros(6), 0.0
    for i, contact in enumerate(data.contact[: data.ncon]):
        if max(contact.flex) >= 0 and robot_geoms & set(contact.geom):
            mujoco.mj_contactForce(model, data, i, wrench)
            total += wrench[0]
    return total


def test_with_cloth_touches_robot_the_fabric_stops_the_jaws():
    """The option makes the fabric push back on the hand (so jaws cannot reach through it); off, it passes through."""
    assert robot_on_cloth_force_n(True) > 1.0
    assert robot_on_cloth_force_n(False) == 0.0
