"""Render the README's task media: one frame and one short GIF per task, from the scripted expert.

python experiments/make_media.py                                   # every task: docs/media/<task>.png, .gif
python experiments/make_media.py --task embodia/BinPicking-v0      # one task (repeat --task for more)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import embodia  # noqa: F401  (headless GL backend before mujoco loads)
from embodia.agents.experts import make_expert
from embodia.commands.common import seed_int
from embodia.envs.core.batched_env import BatchedEnv, make_batched
from embodia.envs.record.video import write_gif
from embodia.envs.tasks.registry import TASKS

MEDIA = Path(__file__).resolve().parent.parent / "docs" / "media"


#: frames per GIF, at most: keeps every GIF well under 1 MB whatever the episode's length
GIF_FRAMES = 40


def expert_episode(env: BatchedEnv, env_id: str, seed: int, frame_every: int | None) -> tuple[int, list[np.ndarray]]:
    """Run the expert from ``seed``: (steps taken, frames rendered every ``frame_every`` steps; none if None)."""
    expert = make_expert(env_id, 1)
    obs, info = env.reset(seeds=[seed])
    expert.reset(np.arange(1))
    frames = [] if frame_every is None else [env.render(0)]
    for step in range(env.config.episode_steps):
        obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
        if frame_every is not None and step % frame_every == 0:
            frames.append(env.render(0))
        if terminated[0] or truncated[0]:
            return step + 1, frames
    return env.config.episode_steps, frames


def task_media(env_id: str, seed: int, out: Path) -> tuple[Path, Path]:
    env = make_batched(env_id, 1, render_size=(240, 320), render_preset="quality")
    steps, _ = expert_episode(env, env_id, seed, None)  # deterministic: the length first, then the frames
    frame_every = max(4, -(-steps // GIF_FRAMES))
    _, frames = expert_episode(env, env_id, seed, frame_every)
    frames += [env.render(0)] * 6  # hold the final state
    name = env_id.split("/")[1].split("-")[0].lower()
    still = out / f"{name}.png"
    import imageio.v3 as iio

    iio.imwrite(still, frames[len(frames) * 3 // 5])
    gif = out / f"{name}.gif"
    write_gif(gif, frames, fps=env.config.control_hz / frame_every, overwrite=True)
    env.close()
    return still, gif


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=seed_int, default=3)
    parser.add_argument("--task", action="append", choices=list(TASKS), help="only these tasks (default: all)")
    args = parser.parse_args()
    MEDIA.mkdir(parents=True, exist_ok=True)
    for env_id in args.task or TASKS:
        for path in task_media(env_id, args.seed, MEDIA):
            print(f"{path.relative_to(MEDIA.parent.parent)}: {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
