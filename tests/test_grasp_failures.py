"""The grasp-failure reading of recorded BinPicking episodes: the expert's jaws meet the part's faces, and a jaw
turned away from them is measured modulo the part's symmetry."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from embodia.agents.learn.collect import collect_demonstrations
from embodia.envs.record.episode import load_episode
from embodia.envs.scene.parts import yaw_quat
from embodia.envs.tasks.factory.bin_picking import PARTS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
try:
    from grasp_failures import OFF_YAW_DEG, first_close, main, yaw_errors_over_part
finally:
    sys.path.pop(0)


def turned(quat: np.ndarray, degrees: float) -> np.ndarray:
    """wxyz quaternions (n, 4) turned about the world's z axis."""
    w1, z1 = yaw_quat(np.array([np.radians(degrees)]))[0][[0, 3]]
    w, x, y, z = quat.T
    return np.stack([w1 * w - z1 * z, w1 * x - z1 * y, w1 * y + z1 * x, w1 * z + z1 * w], axis=1)


@pytest.fixture(scope="module")
def expert_episodes(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("grasp") / "expert"
    collect_demonstrations("embodia/BinPicking-v0", 3, folder, seed=0, num_envs=3)
    return folder


def test_the_expert_closes_on_the_part_with_its_jaws_on_the_faces(expert_episodes, capsys) -> None:
    rows = [first_close(load_episode(path)) for path in sorted(expert_episodes.glob("episode_*.npz"))]
    assert [r["success"] for r in rows] == [True] * 3
    assert {r["kind"] for r in rows} != {"cylinder"}  # seeds 0-2 hold a part with faces
    for r in rows:
        assert r["closest_cm"] < 1.0 and abs(r["above_part_cm"]) < 1.0
        assert np.isnan(r["yaw_error_deg"]) if r["kind"] == "cylinder" else r["yaw_error_deg"] < 3.0
    assert main([str(expert_episodes)]) == 0
    assert "3 episodes, placed 3" in capsys.readouterr().out


def test_a_turned_jaw_is_measured_modulo_the_parts_symmetry(expert_episodes) -> None:
    for path in sorted(expert_episodes.glob("episode_*.npz")):
        episode = load_episode(path)
        base = first_close(episode)
        if base["kind"] == "cylinder":
            continue
        episode.observations["robot_tcp_quat"] = turned(episode.observations["robot_tcp_quat"], 100.0)
        error = first_close(episode)["yaw_error_deg"]
        expected = 10.0 if base["kind"] == "cube" else 80.0  # a quarter turn looks the same on a cube only
        assert error == pytest.approx(expected, abs=base["yaw_error_deg"] + 0.5)


def test_frames_over_the_part_count_a_jaw_turned_off_its_faces(expert_episodes) -> None:
    faced = 0
    for path in sorted(expert_episodes.glob("episode_*.npz")):
        episode = load_episode(path)
        errors = yaw_errors_over_part(episode)
        if first_close(episode)["kind"] == "cylinder":
            assert len(errors) == 0
            continue
        faced += 1
        assert len(errors) > 3 and (errors < OFF_YAW_DEG).all()  # the expert turned before it came over the part
        episode.observations["robot_tcp_quat"] = turned(episode.observations["robot_tcp_quat"], 30.0)
        assert (yaw_errors_over_part(episode) > OFF_YAW_DEG).all()
    assert faced > 0


def test_a_finger_standing_on_the_part_is_read_from_the_replayed_contacts(expert_episodes) -> None:
    import mujoco

    from embodia.envs.record.replay import make_replay_env, restore

    episode = load_episode(sorted(expert_episodes.glob("episode_*.npz"))[0])
    close = first_close(episode)
    assert close["finger_on_top"] is False  # the expert's jaws straddle the part
    step = close["step"]
    env = make_replay_env(episode)
    try:  # raise the part from below the left finger until the two touch: the finger then stands on its top
        restore(env, episode, step)
        model, data = env.sim.batch.get_model(0), env.sim.batch.get_data(0)
        kind = PARTS[int(np.argmax(episode.observations["task_part_kind"][step]))].name
        part, adr = model.body(f"part_{kind}").id, model.jnt_qposadr[model.joint(f"part_{kind}").id]
        fingers = {model.body(f"robot/{side}_finger").id for side in ("left", "right")}
        mujoco.mj_forward(model, data)
        under = data.xpos[model.body("robot/left_finger").id].copy()
        for rise in np.arange(-0.12, 0.05, 0.001):
            data.qpos[adr : adr + 3] = under + np.array([0.0, 0.0, rise])
            mujoco.mj_forward(model, data)
            pairs = [{model.geom_bodyid[c.geom1], model.geom_bodyid[c.geom2]} for c in data.contact[: data.ncon]]
            if any(part in pair and pair & fingers for pair in pairs):
                break
        else:
            pytest.fail("the part never met the finger")
        mujoco.mj_getState(model, data, episode.mj_state[step], mujoco.mjtState.mjSTATE_INTEGRATION)
    finally:
        env.close()
    assert first_close(episode)["finger_on_top"] is True
