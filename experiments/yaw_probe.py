"""Whether a visual policy's camera features say which way to turn the jaws: a linear probe on BinPicking frames.

    python experiments/yaw_probe.py RUN DEMOS     # RUN: a visual BC run folder; DEMOS: demonstrations it did not see
    python experiments/yaw_probe.py --supervised DEMOS   # the same encoder trained on the turn direction alone

BinPicking's visual clone closes its jaws 15-40 degrees off a cube's faces. Either its images do not give it the
part's yaw, or they do and the policy does not use it. This reads the frames of ``DEMOS`` with the hand over a
cube or a block, jaws open and more than ``MIN_ERROR_DEG`` off the part's faces (modulo its symmetry; pushed
demonstrations, ``collect_demonstrations(..., disturbance_rate=...)``, hold many), renders the images the policy
was trained with from the recorded states, and fits a ridge regression from each camera's features (its encoder
in ``agents/learn/vision.py``, frozen) to the sign of the yaw error, which way to turn. It is scored on held-out
episodes (every third), against always answering the commoner way; the same encoder untrained and the robot's TCP
orientation alone are the controls.

``--supervised``: whether the encoder can give the yaw at all when asked. A new wrist-camera encoder of the same
architecture (``CameraEncoder``, keypoints, with ``--grid`` its pooled picture) and a linear head are trained from
scratch on the turn direction of the training episodes' frames alone (logistic loss, DrQ's shifts), then scored on
the held-out episodes' frames as above.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import preprocess_obs

import embodia  # noqa: F401  (headless GL backend before mujoco loads)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grasp_failures import over_part_yaw

from embodia.commands.common import positive_int

ENV_ID = "embodia/BinPicking-v0"
MIN_ERROR_DEG = 5.0
OPEN_JAWS_M = 0.03  # before the grasp: the jaws still pre-opened
RIDGE = 10.0
IMAGE_OPTIONS = ("obs_mode", "cameras", "image_size", "instruction_features")
WRIST = "camera_robot_wrist"
SUPERVISED_IMAGES = {"obs_mode": "pixels", "cameras": ["robot/wrist"], "image_size": [96, 96]}


def turn_probe(features: np.ndarray, turn_sign: np.ndarray, episode: np.ndarray) -> tuple[float, float, int]:
    """(share of held-out frames whose turn direction a ridge regression on ``features`` gets right, share of the
    commoner direction among them, held-out frames); every third episode is held out."""
    test = held_out(episode)
    mean, std = features[~test].mean(0), features[~test].std(0) + 1e-6
    design = np.c_[(features - mean) / std, np.ones(len(features))]
    train = design[~test]
    weights = np.linalg.solve(train.T @ train + RIDGE * np.eye(design.shape[1]), train.T @ turn_sign[~test])
    right = float((np.sign(design[test] @ weights) == turn_sign[test]).mean())
    commoner = float(max((turn_sign[test] > 0).mean(), (turn_sign[test] < 0).mean()))
    return right, commoner, int(test.sum())


def held_out(episode: np.ndarray) -> np.ndarray:
    """The frames of every third episode: those the probes score, never fit."""
    return np.isin(episode, np.unique(episode)[::3])


def supervised_turn(images: np.ndarray, turn_sign: np.ndarray, episode: np.ndarray, grid: int = 0,
                    epochs: int = 150, seed: int = 0) -> tuple[float, float]:  # fmt: skip
    """(held-out share right, training share right) of a new ``CameraEncoder`` and linear head trained on the turn
    direction of ``images`` ((n, H, W, C) uint8) of the frames not held out."""
    from torch import nn

    from embodia.agents.learn.vision import GRID_CHANNELS, KEYPOINTS, SHIFT_PX, CameraEncoder, random_shift

    torch.manual_seed(seed)
    pictures = torch.as_tensor(images).float().permute(0, 3, 1, 2) / 255.0
    target = torch.as_tensor(turn_sign > 0, dtype=torch.float32)
    test = torch.as_tensor(held_out(episode))
    encoder = CameraEncoder(pictures.shape[1], grid=grid)
    head = nn.Linear(3 * KEYPOINTS + GRID_CHANNELS * grid * grid, 1)
    optimiser = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=1e-3)
    train = torch.where(~test)[0]
    for _ in range(epochs):
        for batch in train[torch.randperm(len(train))].split(64):
            logits = head(encoder(random_shift(pictures[batch], SHIFT_PX))).squeeze(1)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, target[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        right = (head(encoder(pictures)).squeeze(1) > 0) == target.bool()
    return float(right[test].float().mean()), float(right[~test].float().mean())


def frames_off_yaw(obs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(rows with the hand over a cube or block, jaws open and more than MIN_ERROR_DEG off, their yaw errors)."""
    over, error = over_part_yaw(obs)
    over &= obs["robot_gripper_width"].ravel() > OPEN_JAWS_M
    rows = np.where(over & (np.abs(error) > np.radians(MIN_ERROR_DEG)))[0]
    return rows, error[rows]


def camera_features(extractor, obs: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """Each camera's encoder output (keypoints, and the pooled grid when the policy has one) for ``rows``."""
    out = {}
    with torch.no_grad():
        words = torch.as_tensor(obs["instruction_words"][rows]).float().flatten(1) if extractor.words else None
        images = {k: torch.as_tensor(obs[k][rows]) for keys in extractor.cameras.values() for k in keys}
        scaled = preprocess_obs(images, spaces.Dict({k: extractor.observation_space[k] for k in images}))
        for name, inputs in extractor.camera_images(scaled).items():
            out[name] = extractor.encoders[name](inputs, words).numpy()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, nargs="?", help="a visual BC run (embodia train --algo bc, obs_mode pixels)")
    parser.add_argument("demos", type=Path, help="BinPicking demonstrations the run was not trained on")
    parser.add_argument("--episodes", type=positive_int, default=80, help="demonstrations to read")
    parser.add_argument("--supervised", action="store_true", help="train the encoder on the turn direction alone")
    parser.add_argument("--grid", type=int, nargs="+", default=[0, 4], help="--supervised: image_grid values")
    parser.add_argument("--epochs", type=int, default=150, help="--supervised: passes over the training frames")
    args = parser.parse_args(argv)
    if args.supervised:
        return supervised(args.demos, args.episodes, args.grid, args.epochs)
    if args.run is None:
        parser.error("give the run folder to probe, or --supervised")
    from embodia.agents.learn import train as training
    from embodia.agents.learn.dataset import load_demonstrations
    from embodia.agents.learn.vision import VisualExtractor
    from embodia.envs.core.batched_env import make_batched

    torch.set_num_threads(1)
    record, policy = training.load_run_policy(args.run, ENV_ID)
    options = {k: v for k, v in record["env_kwargs"].items() if k in IMAGE_OPTIONS}
    if options.get("obs_mode") != "pixels":
        raise SystemExit(f"{args.run}: not a visual policy (obs_mode {options.get('obs_mode')!r}, not 'pixels')")
    env = make_batched(ENV_ID, 1, obs_mode="dict", instruction_features=options.get("instruction_features", 0))
    demos = load_demonstrations(args.demos, ENV_ID, env.single_observation_space, env.single_action_space,
                                max_episodes=args.episodes, image_options=options)  # fmt: skip
    env.close()
    obs = demos.observations
    rows, error = frames_off_yaw(obs)
    if len(rows) < 30:
        raise SystemExit(f"{args.demos}: {len(rows)} frames over a part with the jaws off; record pushed ones")
    sign, episode = np.sign(error), demos.episode[rows]
    print(f"{args.demos}: {len(rows)} frames over a cube or block with the jaws {MIN_ERROR_DEG:.0f}+ degrees off "
          f"(median {np.degrees(np.median(np.abs(error))):.0f}), {len(np.unique(episode))} episodes")  # fmt: skip
    trained = getattr(policy, "features_extractor", None) or policy.actor.features_extractor
    torch.manual_seed(0)
    untrained = VisualExtractor(trained._observation_space, grid=int(record["config"].get("image_grid", 0)))
    rows_out = []
    for label, extractor in (("trained", trained), ("untrained", untrained)):
        extractor.eval()
        for key, features in camera_features(extractor, obs, rows).items():
            rows_out.append((f"{label} encoder, {key}", features))
    rows_out.append(("the TCP's orientation alone", obs["robot_tcp_quat"][rows]))
    print("| features | which way to turn, held-out episodes | always the commoner way | frames |")
    print("|---|---:|---:|---:|")
    for label, features in rows_out:
        right, commoner, frames = turn_probe(features, sign, episode)
        print(f"| {label} | {right:.0%} | {commoner:.0%} | {frames} |")
    return 0


def supervised(demos: Path, episodes: int, grids: list[int], epochs: int) -> int:
    from embodia.agents.learn.dataset import load_demonstrations
    from embodia.envs.core.batched_env import make_batched

    torch.set_num_threads(1)
    env = make_batched(ENV_ID, 1, obs_mode="dict")
    loaded = load_demonstrations(demos, ENV_ID, env.single_observation_space, env.single_action_space,
                                 max_episodes=episodes, image_options=SUPERVISED_IMAGES)  # fmt: skip
    env.close()
    rows, error = frames_off_yaw(loaded.observations)
    sign, episode = np.sign(error), loaded.episode[rows]
    test = held_out(episode)
    commoner = max((sign[test] > 0).mean(), (sign[test] < 0).mean())
    print(f"{demos}: {len(rows)} wrist images over a cube or block with the jaws {MIN_ERROR_DEG:.0f}+ degrees off, "
          f"{int(test.sum())} held out (every third episode); the commoner way {commoner:.0%} of those")  # fmt: skip
    print("| wrist encoder trained on the turn direction alone | held-out episodes | training frames |")
    print("|---|---:|---:|")
    for grid in grids:
        right, fitted = supervised_turn(np.asarray(loaded.observations[WRIST])[rows], sign, episode, grid, epochs)
        features = f"keypoints + {grid} x {grid} grid" if grid else "keypoints"
        print(f"| {features}, {epochs} epochs | {right:.0%} | {fitted:.0%} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
