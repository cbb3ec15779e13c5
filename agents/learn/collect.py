"""Expert demonstrations with DART noise injection, written as an embodia run folder.

Behaviour cloning from clean expert rollouts sees only the states the expert visits; a cloned policy's small
errors then lead it to states no demonstration covers, and errors compound. DART (Laskey et al., CoRL 2017,
"DART: Noise Injection for Robust Imitation Learning") executes the expert's action plus Gaussian noise while
recording the expert's clean action as the label, so the demonstrations show how the expert recovers from
perturbations. ``action_noise=0`` gives plain expert demonstrations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import make_batched, take
from embodia.envs.record.atomic import write_json
from embodia.envs.record.episode import EpisodeBuffer, episode_metadata
from embodia.envs.record.recorder import episode_stem, prepare_record_dir

#: separates the noise stream from the env's, which uses the episode seed itself
NOISE_STREAM = 2


def collect_demonstrations(
    env_id: str,
    episodes: int,
    out_dir: str | Path,
    seed: int = 0,
    num_envs: int = 10,
    action_noise: float = 0.0,
    noise_dims: slice = slice(0, 6),
    env_kwargs: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Record ``episodes`` expert episodes (seeds ``seed + k``) into ``out_dir``; return success statistics.

    The executed action is the expert's plus N(0, ``action_noise``) on ``noise_dims`` (the arm; the gripper
    stays clean); the recorded action is the expert's own.
    """
    out = Path(out_dir)
    prepare_record_dir(out, overwrite)
    kwargs = dict(env_kwargs or {})
    num_envs = max(1, min(num_envs, episodes))
    env = make_batched(env_id, num_envs, **kwargs)
    expert = make_expert(env_id, num_envs)
    policy = f"expert+dart({action_noise})" if action_noise > 0 else "expert"
    control_hz = float(env.config.control_hz)
    write_json(out / "meta.json", {"format": "embodia.run", "schema_version": 1, "env_id": env_id,
                                   "env_kwargs": kwargs, "policy": policy, "seed": seed, "episodes": episodes,
                                   "action_noise": action_noise})  # fmt: skip
    slot_episode = np.full(num_envs, -1)
    noise_rngs: list[np.random.Generator | None] = [None] * num_envs
    buffers: list[EpisodeBuffer | None] = [None] * num_envs
    successes: list[bool] = []
    next_episode = 0

    def start(slots: list[int]):
        nonlocal next_episode
        slots = slots[: episodes - next_episode]
        if not slots:
            return None
        indices = list(range(next_episode, next_episode + len(slots)))
        next_episode += len(slots)
        seeds = [seed + k for k in indices]
        obs, info = env.reset(np.array(slots), seeds)
        for slot, k, episode_seed in zip(slots, indices, seeds, strict=True):
            slot_episode[slot] = k
            expert.reset(np.array([slot]), episode_seed)
            noise_rngs[slot] = np.random.default_rng([episode_seed, NOISE_STREAM])
            meta = episode_metadata(env_id, kwargs, episode_seed, policy, control_hz, episode=k)
            buffers[slot] = EpisodeBuffer(meta)
            buffers[slot].reset(take(obs, slot), take(info, slot), env.sim.state(slot))
        return obs, info

    obs, info = start(list(range(num_envs)))
    while (slot_episode >= 0).any():
        label = np.asarray(expert.act(obs, info), dtype=np.float64)
        executed = label.copy()
        if action_noise > 0:
            for slot in np.flatnonzero(slot_episode >= 0):
                width = len(range(*noise_dims.indices(label.shape[1])))
                executed[slot, noise_dims] += noise_rngs[slot].normal(0.0, action_noise, size=width)
        obs, reward, terminated, truncated, info = env.step(np.clip(executed, -1.0, 1.0))
        ended = []
        for slot in np.flatnonzero(slot_episode >= 0):
            step = (label[slot], reward[slot], terminated[slot], truncated[slot])
            buffers[slot].step(*step, take(obs, slot), take(info, slot), env.sim.state(slot))
            if terminated[slot] or truncated[slot]:
                successes.append(bool(info["success"][slot]))
                buffers[slot].build().save(out / f"{episode_stem(int(slot_episode[slot]))}.npz", overwrite=overwrite)
                slot_episode[slot] = -1
                ended.append(int(slot))
        if ended:
            restarted = start(ended)
            if restarted is not None:
                obs, info = restarted
    env.close()
    summary = {"env_id": env_id, "episodes": episodes, "success_rate": float(np.mean(successes)), "policy": policy}
    write_json(out / "summary.json", summary)
    return summary
