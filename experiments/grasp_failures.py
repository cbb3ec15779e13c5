"""Why a BinPicking policy's recorded episodes fail: by part kind, and at the moment it first closes its jaws.

    embodia eval RUN --episodes 30 --record runs/scratch/diag      # a trained policy's episodes, recorded
    python experiments/grasp_failures.py runs/scratch/diag runs/demos/BinPicking-v0-dart0.1-successes-200

The expert turns its jaws to the part's faces (yaw) and closes with the TCP at the part's centre; a clone that
finds the part but misses its yaw lands its fingers on the part's top and stalls above it. For each folder this
prints how many episodes each part kind placed, then per failed episode the jaw-to-part yaw error at the first
close command (modulo the part's symmetry: a cube's quarter turn, a block's half turn; a cylinder has none), the
TCP's height above the part's centre then and how far to its side, whether a finger stands on the part's top
then (MuJoCo's contacts in the replayed state), and the closest approach of the TCP to the part over the episode
(and how much of it is sideways).

For demonstrations it says what a clone could learn the last turn from: of the frames before the grasp with the
hand over a cube or a block (``NEAR_SIDEWAYS_M``, ``NEAR_ABOVE_M``), how many show the jaws more than
``OFF_YAW_DEG`` off its faces. The expert turns early and holds its yaw, so few do unless the demonstrations were
pushed (``collect_demonstrations(..., disturbance_rate=...)``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import mujoco
import numpy as np

import embodia  # noqa: F401  (headless GL backend before mujoco loads)
from embodia.envs.record.episode import load_episode
from embodia.envs.record.replay import make_replay_env, restore
from embodia.envs.scene.angles import quat_yaw, wrap
from embodia.envs.tasks.factory.bin_picking import PARTS

#: "over the part": the TCP within this sideways of the part's centre and at most NEAR_ABOVE_M above it
NEAR_SIDEWAYS_M = 0.03
NEAR_ABOVE_M = 0.12
#: a jaw this far off a part's faces (modulo its symmetry) lands on the part's top
OFF_YAW_DEG = 20.0
#: a finger-part contact whose normal's vertical component is above this presses on the part's top face
ON_TOP_NORMAL_Z = 0.7


def symmetry_rad(kind: int) -> float | None:
    """The turn after which the part looks the same to the jaws; None for a cylinder (every yaw)."""
    part = PARTS[kind]
    if part.geom == mujoco.mjtGeom.mjGEOM_CYLINDER:
        return None
    return np.pi / 2 if part.half_size[0] == part.half_size[1] else np.pi


def finger_on_top(episode, step: int) -> bool:
    """Whether a finger stands on the requested part's top in recorded state ``step`` (a contact between a finger
    and the part whose normal is within ``ON_TOP_NORMAL_Z`` of vertical), read from MuJoCo's contacts in the state
    replayed on the episode's own model values."""
    env = make_replay_env(episode)
    try:
        restore(env, episode, step)
        model = env.sim.batch.get_model(0)
        data = env.sim.batch.get_data(0)
        mujoco.mj_forward(model, data)
        part = model.body(f"part_{PARTS[int(np.argmax(episode.observations['task_part_kind'][step]))].name}").id
        fingers = {model.body(f"robot/{side}_finger").id for side in ("left", "right")}
        for contact in data.contact[: data.ncon]:
            bodies = {int(model.geom_bodyid[contact.geom1]), int(model.geom_bodyid[contact.geom2])}
            if part in bodies and bodies & fingers and abs(contact.frame[2]) > ON_TOP_NORMAL_Z:
                return True
        return False
    finally:
        env.close()


def first_close(episode) -> dict[str, float | int | str | bool]:
    """The episode's figures at its first close command (the last step if it never closes)."""
    obs, grip = episode.observations, episode.actions[:, -1]
    step = int(np.argmax(grip < 0)) if (grip < 0).any() else len(grip) - 1
    kind = int(np.argmax(obs["task_part_kind"][step]))
    turn = symmetry_rad(kind)
    yaw_error = float("nan")
    if turn is not None:
        error = quat_yaw(obs["robot_tcp_quat"][step]) - quat_yaw(obs["task_part_quat"][step])
        yaw_error = float(np.degrees(np.abs(wrap(error, turn))))
    to_part = obs["task_part_to_tcp"]  # the part minus the TCP
    distance = np.linalg.norm(to_part, axis=1)
    closest = int(np.argmin(distance))
    return {
        "kind": PARTS[kind].name,
        "success": bool(episode.info["success"].any()),
        "grasped": bool(episode.info["grasped"].any()),
        "step": step,
        "yaw_error_deg": yaw_error,
        "above_part_cm": float(-to_part[step, 2] * 100),
        "closest_cm": float(distance[closest] * 100),
        "closest_sideways_cm": float(np.linalg.norm(to_part[closest, :2]) * 100),
        "sideways_cm": float(np.linalg.norm(to_part[step, :2]) * 100),
        "finger_on_top": finger_on_top(episode, step),
    }


def over_part_yaw(obs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per frame (any episodes, concatenated): whether the hand is over a cube or a block, and the jaws' yaw error
    from its faces modulo its symmetry, in radians (meaningless where the part is a cylinder)."""
    kind = obs["task_part_kind"].argmax(1)
    turns = np.array([symmetry_rad(k) or 0.0 for k in range(len(PARTS))])[kind]
    to_part = obs["task_part_to_tcp"]
    over = (np.linalg.norm(to_part[:, :2], axis=1) < NEAR_SIDEWAYS_M) & (-to_part[:, 2] <= NEAR_ABOVE_M) & (turns > 0)
    error = wrap(quat_yaw(obs["robot_tcp_quat"]) - quat_yaw(obs["task_part_quat"]), np.where(turns > 0, turns, 1.0))
    return over, error


def yaw_errors_over_part(episode) -> np.ndarray:
    """Degrees between the jaws and the part's faces (modulo its symmetry) in every frame before the first grasp
    with the hand over a cube or a block; empty for a cylinder."""
    grasped = episode.info["grasped"]
    before = int(np.argmax(grasped)) if grasped.any() else len(grasped)
    over, error = over_part_yaw({key: values[:before] for key, values in episode.observations.items()})
    return np.degrees(np.abs(error[over]))


def report(folder: Path) -> None:
    episodes = [load_episode(path) for path in sorted(folder.glob("episode_*.npz"))]
    rows = [first_close(episode) for episode in episodes]
    if not rows:
        raise SystemExit(f"{folder}: no episode_*.npz files; record some with `embodia eval RUN --record DIR`")
    placed = {part.name: [r["success"] for r in rows if r["kind"] == part.name] for part in PARTS}
    counts = ", ".join(f"{name} {sum(v)} of {len(v)}" for name, v in placed.items())
    print(f"{folder}: {len(rows)} episodes, placed {sum(r['success'] for r in rows)}; by part: {counts}")
    for kind in PARTS:
        errors = [r["yaw_error_deg"] for r in rows if r["kind"] == kind.name and r["success"]]
        if errors and not np.isnan(errors[0]):
            print(f"  placed {kind.name}s: yaw error at the first close {min(errors):.0f}-{max(errors):.0f} degrees")
    over = np.concatenate([yaw_errors_over_part(episode) for episode in episodes])
    print(
        f"  frames before the grasp over a cube or block: {len(over)}, the jaws more than {OFF_YAW_DEG:.0f} "
        f"degrees off its faces in {int((over > OFF_YAW_DEG).sum())}"
    )
    failed = [r for r in rows if not r["success"]]
    on_top = [r for r in failed if r["finger_on_top"]]
    if on_top:
        sideways = [r["sideways_cm"] for r in on_top]
        print(f"  failed with a finger standing on the part's top at the first close: {len(on_top)} of {len(failed)}, "
              f"the TCP {min(sideways):.1f}-{max(sideways):.1f} cm to the side of the part's centre")  # fmt: skip
    for r in failed:
        yaw = "any yaw" if np.isnan(r["yaw_error_deg"]) else f"yaw error {r['yaw_error_deg']:4.0f} deg"
        print(f"  failed {r['kind']:8s} {'grasped' if r['grasped'] else 'never grasped':13s} first close at step "
              f"{r['step']:3d}: {yaw}, TCP {r['above_part_cm']:4.1f} cm above the part; "
              f"closest {r['closest_cm']:.1f} cm ({r['closest_sideways_cm']:.1f} sideways)"
              + ("; a finger on its top" if r["finger_on_top"] else ""))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folders of recorded BinPicking episodes")
    for folder in parser.parse_args(argv).folders:
        report(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
