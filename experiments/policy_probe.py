"""Where an RL policy takes the object, and which of its normalised inputs sit at the clip while it does.

    python experiments/policy_probe.py runs/suite/BinPicking-ppo_factory_sde_long_norm-s0 --episodes 16
    python experiments/policy_probe.py RUN/checkpoints/model_1000000.zip --lifted-above 0.15

A run folder, its ``policy.zip`` or a checkpoint; held-out episodes (seeds 1,000,000 + k), the policy's mean
action, all episodes side by side in one batched env. Per episode: the steps it held the object (``info``'s
``grasped``), the highest it lifted it (``lift_m``), and its distance to the goal (the norm of an observation
entry, ``--goal-entry``: by default the first ``task_*`` entry that ends in ``_to_slot``, ``_to_hole`` or
``_to_goal``), closest and at the end. Then the inputs of the policy's normalisation (``NormalizedExtractor``)
that were clipped (more than ``CLIP`` standard deviations from the mean) in the steps where the object was lifted
more than ``--lifted-above`` metres (every step when the task reports no ``lift_m``): an input held at the clip
tells the policy nothing while it is there. Diagnoses PPO from scratch, whose statistics came from random actions.
Last, for a Gaussian policy (PPO), the gripper's unclipped action mean in the steps the object was within
``--near`` metres of its goal, and its spread: SB3 clips the sampled action to [-1, 1], so a mean far past the bound
never samples the other side (a jaw that never opens where it should let go).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch

import embodia  # noqa: F401  (headless GL backend before mujoco loads)
from embodia.agents.learn.networks import CLIP, NormalizedExtractor
from embodia.agents.learn.train import RunError, load_run_policy
from embodia.commands.common import positive_int
from embodia.envs.core.batched_env import make_batched

EVAL_SEED = 1_000_000
GOAL_SUFFIXES = ("_to_slot", "_to_hole", "_to_goal")


def goal_entry(keys: list[str], chosen: str | None) -> str | None:
    if chosen is not None:
        if chosen not in keys:
            raise SystemExit(f"--goal-entry {chosen!r} is not an observation entry; valid: {', '.join(keys)}")
        return chosen
    return next((k for k in keys if k.startswith("task_") and k.endswith(GOAL_SUFFIXES)), None)


def gripper_distribution(policy, obs: dict[str, np.ndarray], gripper: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(mean, std) of the gripper's action for each row, before clipping; None for a policy that is not Gaussian."""
    if not hasattr(policy, "get_distribution") or getattr(policy, "squash_output", False):
        return None
    tensors, _ = policy.obs_to_tensor(obs)
    distribution = policy.get_distribution(tensors).distribution
    return distribution.mean[:, gripper].numpy(), distribution.stddev[:, gripper].numpy()


def probe(path: str, episodes: int, lifted_above: float, goal: str | None, near: float = 0.05) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the code-equivalence warning: the user named the run
        record, policy = load_run_policy(path)
    env = make_batched(record["env_id"], episodes, **dict(record["env_kwargs"]))
    try:
        obs, info = env.reset(seeds=[EVAL_SEED + k for k in range(episodes)])
        if not isinstance(obs, dict):
            raise SystemExit("the probe reads Dict observations (obs_mode: dict)")
        goal = goal_entry(sorted(obs), goal)
        extractor = next(m for m in policy.modules() if isinstance(m, NormalizedExtractor))
        names = [f"{k}[{i}]" for k in extractor.keys for i in range(int(np.prod(obs[k].shape[1:])))]
        clipped, counted = np.zeros(len(names)), 0
        live = np.ones(episodes, dtype=bool)
        held, lift = np.zeros(episodes, dtype=int), np.full(episodes, -np.inf)
        closest, final = np.full(episodes, np.inf), np.full(episodes, np.nan)
        success = np.zeros(episodes, dtype=bool)
        gripper = env.controller.layout["gripper"].start
        near_means, near_stds = [], []
        while live.any():
            with torch.no_grad():
                action, _ = policy.predict(obs, deterministic=True)
                read = gripper_distribution(policy, obs, gripper) if goal is not None else None
            if read is not None:
                close = live & (np.linalg.norm(np.asarray(obs[goal]).reshape(episodes, -1), axis=1) < near)
                near_means.append(read[0][close])
                near_stds.append(read[1][close])
            obs, _, terminated, truncated, info = env.step(action)
            held += live & np.asarray(info.get("grasped", np.zeros(episodes)), dtype=bool)
            lifted = np.asarray(info.get("lift_m", np.full(episodes, np.inf)), dtype=float)
            lift = np.where(live, np.maximum(lift, lifted), lift)
            if goal is not None:
                distance = np.linalg.norm(np.asarray(obs[goal]).reshape(episodes, -1), axis=1)
                closest = np.where(live, np.minimum(closest, distance), closest)
                final = np.where(live, distance, final)
            success |= live & np.asarray(info["success"], dtype=bool)
            rows = live & (lifted > lifted_above)
            if rows.any():
                inputs = np.concatenate([np.asarray(obs[k])[rows].reshape(rows.sum(), -1) for k in extractor.keys], 1)
                z = (inputs - extractor.mean.numpy()) / extractor.std.numpy()
                clipped += (np.abs(z) >= CLIP).sum(axis=0)
                counted += int(rows.sum())
            live &= ~(np.asarray(terminated, dtype=bool) | np.asarray(truncated, dtype=bool))
    finally:
        env.close()
    print(f"{record['env_id']} {path}: success {success.mean():.0%}, held the object in {np.mean(held > 0):.0%}")
    where = f", {goal} closest / at the end" if goal else ""
    print(f"per episode: success, steps held, highest lift{where}")
    for k in range(episodes):
        line = f"  {EVAL_SEED + k}: {int(success[k])} {held[k]:4d} steps {100 * lift[k]:6.1f} cm"
        print(line + (f" {100 * closest[k]:6.1f} / {100 * final[k]:6.1f} cm" if goal else ""))
    print(f"inputs at the clip ({CLIP:g} std) in the {counted} steps lifted over {100 * lifted_above:g} cm:")
    for i in np.argsort(-clipped, kind="stable"):
        if clipped[i] > 0:
            print(f"  {names[i]:28s} {clipped[i] / counted:5.0%}  (std {float(extractor.std[i]):.3f})")
    means = np.concatenate(near_means) if near_means else np.zeros(0)
    if means.size:
        stds = np.concatenate(near_stds)
        low, median, high = np.percentile(means, [0, 50, 100])
        print(
            f"the gripper's action mean in the {means.size} steps within {100 * near:g} cm of the goal: "
            f"{low:.2f} / {median:.2f} / {high:.2f} (min / median / max), {np.mean(np.abs(means) > 1):.0%} past "
            f"the [-1, 1] bound; noise std {np.median(stds):.2f} (median)"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("policy", help="a run folder written by `embodia train`, its policy.zip or a checkpoint")
    parser.add_argument("--episodes", type=positive_int, default=16)
    parser.add_argument("--lifted-above", type=float, default=0.15, help="metres (info's lift_m)")
    parser.add_argument("--goal-entry", help="the observation entry whose norm is the distance to the goal")
    parser.add_argument("--near", type=float, default=0.05, help="metres from the goal: the gripper's steps read")
    args = parser.parse_args()
    try:
        probe(args.policy, args.episodes, args.lifted_above, args.goal_entry, args.near)
    except RunError as error:  # a path that is not a run, its policy or a checkpoint: one line
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
