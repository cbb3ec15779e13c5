"""Gymnasium wrappers that record every episode of an embodia env, single or vector, into a run folder.

    env = RecordEpisodes(gymnasium.make("embodia/Handover-v0"), "runs/mine", policy="my-policy")
    venv = RecordVectorEpisodes(gymnasium.make_vec("embodia/Handover-v0", 8, vectorization_mode="vector_entry_point"),
                                "runs/mine-vec")

Both attach an ``EpisodeRecorder`` to the env's batched core, so what is recorded is exactly what the physics did,
including episodes the vector env autoresets within a step. Closing the wrapper writes ``summary.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from embodia.envs.record.recorder import EpisodeRecorder, VideoOptions
from embodia.envs.tasks.registry import env_id_of

#: make/make_vec arguments that are not env kwargs
NOT_ENV_KWARGS = ("task", "num_envs", "vectorization_mode", "render_mode", "vector_kwargs", "wrappers")


def embodia_core(env: Any) -> Any:
    """The ``BatchedEnv`` under any stack of wrappers; a non-embodia env is a TypeError."""
    core = getattr(env.unwrapped, "core", None)
    if core is None or not hasattr(core, "listeners"):
        raise TypeError(f"{env.unwrapped!r} is not an embodia env; the recorder wraps envs made from embodia tasks")
    return core


def env_identity(env: Any) -> tuple[str, dict[str, Any]]:
    """The id and kwargs that remake ``env``: its Gymnasium spec when it has one, else its task's registered id
    (an unregistered task: its class path, which names it but which no replay imports)."""
    core = embodia_core(env)
    spec = getattr(env, "spec", None) or getattr(env.unwrapped, "spec", None)
    if spec is None:
        task_cls = type(core.task)
        return env_id_of(task_cls) or f"{task_cls.__module__}:{task_cls.__name__}", {}
    kwargs = {k: v for k, v in spec.kwargs.items() if k not in NOT_ENV_KWARGS}
    if "episode_steps" in kwargs:
        kwargs.pop("max_episode_steps", None)
    return spec.id, kwargs


def attach_recorder(
    env: Any, out_dir: str | Path, policy: str, video: VideoOptions | bool, overwrite: bool
) -> EpisodeRecorder:
    """A recorder on ``env``'s batched core; ``video=True`` means the default ``VideoOptions``."""
    env_id, env_kwargs = env_identity(env)
    options = VideoOptions() if video is True else (video or None)
    return EpisodeRecorder(embodia_core(env), out_dir, env_id, env_kwargs, policy, options, overwrite)


class RecordEpisodes(gym.Wrapper):
    """Records each episode of a single embodia env (observations, actions, rewards, info, MuJoCo state)."""

    def __init__(
        self,
        env: gym.Env,
        out_dir: str | Path,
        policy: str = "unknown",
        video: VideoOptions | bool = False,
        overwrite: bool = False,
    ) -> None:
        super().__init__(env)
        self.recorder = attach_recorder(env, out_dir, policy, video, overwrite)

    def close(self) -> None:
        self.recorder.close()
        super().close()


class RecordVectorEpisodes(gym.vector.VectorWrapper):
    """Records each episode of every simulation of an embodia vector env, autoreset episodes included."""

    def __init__(
        self,
        env: gym.vector.VectorEnv,
        out_dir: str | Path,
        policy: str = "unknown",
        video: VideoOptions | bool = False,
        overwrite: bool = False,
    ) -> None:
        super().__init__(env)
        self.recorder = attach_recorder(env, out_dir, policy, video, overwrite)

    def close(self, **kwargs: Any) -> None:
        self.recorder.close()
        super().close(**kwargs)
