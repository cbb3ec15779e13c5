"""Demonstrations for behaviour cloning and demo-augmented RL, from an embodia run folder or a Minari dataset.

Both sources hold the env's Dict observation (``robot_*``, ``task_*``) per step. A dataset recorded on another
task, or whose observation keys, shapes or action size differ from the env's, is rejected before training
with an error naming the difference. Camera images are not recorded: they are rendered from an embodia run's
recorded MuJoCo states (exact, from any camera, at any size) when asked for. Torch-free.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from embodia.envs.record.episode import (
    CONTROLLER_VERSION,
    REWARD_VERSION,
    load_episode,
    package_versions,
    read_json_file,
    recorded_versions,
)

#: observation keys of images start with these (``envs/core/batched_env.py``, ``image_key``)
IMAGE_KINDS = ("camera", "depth", "segmentation")


def is_image_key(key: str) -> bool:
    return key.split("_")[0] in IMAGE_KINDS


class DatasetError(ValueError):
    """A dataset that does not fit the task it is meant to train."""


class DemonstrationVersionWarning(UserWarning):
    """Demonstrations recorded with another revision of the arm controllers (``CONTROLLER_REVISION``)."""


def controller_revisions(meta: dict[str, Any]) -> tuple[str, str]:
    """(the controller revision a run's ``meta.json`` was recorded with, this embodia's)."""
    recorded = recorded_versions(meta).get(CONTROLLER_VERSION, package_versions()[CONTROLLER_VERSION])
    return recorded, package_versions()[CONTROLLER_VERSION]


@dataclass
class Demonstrations:
    """Transitions of ``num_episodes`` episodes, concatenated; ``episode`` says which episode each row is from."""

    env_id: str
    observations: dict[str, np.ndarray]  # key -> (N, ...) observation before the action (images: uint8 as rendered)
    next_observations: dict[str, np.ndarray]  # key -> (N, ...) observation after it (no images: BC reads none)
    actions: np.ndarray  # (N, A)
    rewards: np.ndarray  # (N,)
    terminated: np.ndarray  # (N,)
    episode: np.ndarray  # (N,) episode index
    num_episodes: int
    source: str
    #: what the recorded rewards were computed under (``TaskConfig.reward_definition``, the revision as recorded:
    #: None for a recording that names none, made before revision 3); see ``reward_differences``
    reward_definition: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.actions)


def _episodes_from_run(folder: Path) -> tuple[str, dict, list[tuple[dict, np.ndarray, np.ndarray, np.ndarray]], dict]:
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise DatasetError(f"{folder} is not an embodia run folder (no meta.json)")
    meta = read_json_file(meta_path, what="a run's metadata (meta.json)")  # bounded; a DataFileError naming it
    if not isinstance(meta, dict):
        raise DatasetError(f"{meta_path}: not a JSON object; record the run again")
    env_id, env_kwargs = meta.get("env_id"), meta.get("env_kwargs") or {}
    if not isinstance(env_id, str) or not isinstance(env_kwargs, dict):
        raise DatasetError(f"{meta_path}: 'env_id' must be a task id and 'env_kwargs' an object; record the run again")
    files = sorted(folder.glob("episode_*.npz"))
    if not files:
        raise DatasetError(f"{folder} holds no episode files (episode_*.npz)")
    episodes = []
    for path in files:
        ep = load_episode(path)
        episodes.append((ep.observations, ep.actions, ep.rewards, ep.terminated))
        if "versions" not in meta:  # a run folder written without them: its episodes' own say what they were made with
            meta = {**meta, "versions": ep.metadata.get("versions") or {}}
    recorded, installed = controller_revisions(meta)
    if recorded != installed:
        warnings.warn(
            f"{folder} was recorded with the arm controllers' revision {recorded} (this embodia's is {installed}): "
            "its actions move the arm a little differently here; record the demonstrations again to clone this "
            "revision's",
            DemonstrationVersionWarning,
            stacklevel=3,
        )
    return env_id, dict(env_kwargs), episodes, meta


def _add_images(files: list[Path], episodes: list[tuple], image_options: dict[str, Any]) -> None:
    """Each episode's camera images (``camera_*``, ``depth_*``, ``segmentation_*``) and any other entry its
    recording lacks (``instruction_words``), computed from its recorded states as an env with ``image_options``
    observes them, added to its observations."""
    from embodia.envs.record import replay

    def loaded():
        for path in files:
            yield str(path), load_episode(path)

    for (observations, *_), rendered in zip(episodes, replay.observe_episodes(loaded(), **image_options), strict=True):
        observations.update({k: v for k, v in rendered.items() if k not in observations and k != "instruction"})


def _episodes_from_minari(dataset_id: str) -> tuple[str, dict, list, dict]:
    """A local Minari dataset's episodes, its files checked first (``load_minari``: Minari would import the entry
    point its metadata names when the spaces are missing); a damaged one is a one-line ``DataFileError``."""
    try:
        import minari  # noqa: F401
    except ImportError:  # pragma: no cover - minari is a core dependency
        raise DatasetError("reading a Minari dataset needs the minari package") from None
    from embodia.envs.record.dataset import EPISODES_DIR, load_minari, minari_path

    try:
        found = (minari_path(dataset_id) / "data" / "metadata.json").is_file()
    except (OSError, ValueError) as error:  # an id Minari cannot turn into a path
        raise DatasetError(f"{dataset_id!r} is neither a run folder nor a local Minari dataset ({error})") from None
    if not found:
        raise DatasetError(f"{dataset_id!r} is neither a run folder nor a local Minari dataset (no such dataset)")
    dataset = load_minari(dataset_id)
    env_spec = dataset.env_spec
    env_id = env_spec.id if env_spec is not None else "unknown"
    env_kwargs = dict(env_spec.kwargs) if env_spec is not None else {}
    env_kwargs.pop("task", None)
    episodes = []
    for ep in dataset.iterate_episodes():
        obs = ep.observations
        if not isinstance(obs, dict):
            raise DatasetError(f"Minari dataset {dataset_id!r} stores {type(obs).__name__} observations, not a Dict")
        episodes.append(({k: np.asarray(v) for k, v in obs.items()}, ep.actions, ep.rewards, ep.terminations))
    if not episodes:
        raise DatasetError(f"Minari dataset {dataset_id!r} holds no episodes")
    copied_meta = minari_path(dataset_id) / EPISODES_DIR / "meta.json"  # the run's, copied by ``export_minari``
    meta = read_json_file(copied_meta, what="a dataset's run metadata") if copied_meta.is_file() else {}
    return env_id, env_kwargs, episodes, meta if isinstance(meta, dict) else {}


def check_compatible(
    source: str,
    env_id: str,
    dataset_env_id: str,
    observations: dict[str, np.ndarray],
    actions: np.ndarray,
    observation_space: spaces.Dict,
    action_space: spaces.Box,
) -> None:
    """Raise ``DatasetError`` when the dataset is from another task or its spaces differ from the env's."""
    if dataset_env_id != env_id:
        raise DatasetError(f"dataset {source} was recorded on {dataset_env_id!r}, not on {env_id!r}")
    expected = {k: tuple(v.shape) for k, v in observation_space.spaces.items()}
    found = {k: tuple(v.shape[1:]) for k, v in observations.items()}
    if set(found) != set(expected):
        missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
        raise DatasetError(
            f"dataset {source}: observation keys differ from {env_id}'s (missing: {missing or 'none'}, "
            f"extra: {extra or 'none'})"
        )
    for key, shape in expected.items():
        if found[key] != shape:
            raise DatasetError(f"dataset {source}: observation {key!r} has shape {found[key]}, the env's is {shape}")
    if actions.shape[1:] != action_space.shape:
        raise DatasetError(
            f"dataset {source}: actions have shape {actions.shape[1:]}, the env's action space is {action_space.shape}"
        )


def load_demonstrations(
    source: str | Path,
    env_id: str,
    observation_space: spaces.Dict,
    action_space: spaces.Box,
    max_episodes: int | None = None,
    control_mode: str = "ee_delta",
    image_options: dict[str, Any] | None = None,
) -> Demonstrations:
    """Read demonstrations for ``env_id`` from a run folder path or a Minari dataset id, checking they fit.

    ``observation_space`` is the env's Dict observation space (``obs_mode="dict"``). ``image_options``: env
    options of pixel observations (``obs_mode``, ``cameras``, ``image_size``, ...); the images are rendered from
    a run folder's recorded states and added to the observations (a Minari dataset holds no states).
    """
    path = Path(source)
    if image_options and not path.is_dir():
        raise DatasetError(
            f"dataset {source}: images are rendered from recorded MuJoCo states, which only an embodia run folder "
            "holds; give a run folder (embodia collect) for pixel observations"
        )
    if path.is_dir():
        dataset_env_id, env_kwargs, episodes, meta = _episodes_from_run(path)
    elif path.exists():
        raise DatasetError(f"dataset {source} is a file; give the run folder that holds it")
    else:
        dataset_env_id, env_kwargs, episodes, meta = _episodes_from_minari(str(source))
    recorded_mode = env_kwargs.get("control_mode", "ee_delta")
    if recorded_mode != control_mode:
        raise DatasetError(f"dataset {source} was recorded with control_mode={recorded_mode!r}, not {control_mode!r}")
    if dataset_env_id != env_id:  # first: another task's dataset is wrong whatever else fits
        raise DatasetError(f"dataset {source} was recorded on {dataset_env_id!r}, not on {env_id!r}")
    if max_episodes is not None:
        if len(episodes) < max_episodes:
            raise DatasetError(f"dataset {source} holds {len(episodes)} episodes, {max_episodes} were asked for")
        episodes = episodes[:max_episodes]
    if image_options:
        _add_images(sorted(path.glob("episode_*.npz"))[: len(episodes)], episodes, image_options)
        images = {k: spaces.Box(0, 255, v.shape[1:], np.uint8) for k, v in episodes[0][0].items() if is_image_key(k)}
        observation_space = spaces.Dict({**observation_space.spaces, **images})
    check_compatible(str(source), env_id, dataset_env_id, episodes[0][0], np.asarray(episodes[0][1]),
                     observation_space, action_space)  # fmt: skip
    obs, next_obs, actions, rewards, terminated, index = {}, {}, [], [], [], []
    for k, (ep_obs, ep_actions, ep_rewards, ep_terminated) in enumerate(episodes):
        steps = len(ep_actions)
        for key, value in ep_obs.items():
            if len(value) != steps + 1:
                raise DatasetError(f"dataset {source}: episode {k} has {len(value)} observations for {steps} actions")
            if is_image_key(key):  # kept as rendered (uint8: a quarter of the memory)
                obs.setdefault(key, []).append(np.asarray(value[:-1]))
                continue
            obs.setdefault(key, []).append(np.asarray(value[:-1], dtype=np.float32))
            next_obs.setdefault(key, []).append(np.asarray(value[1:], dtype=np.float32))
        actions.append(np.asarray(ep_actions, dtype=np.float32))
        rewards.append(np.asarray(ep_rewards, dtype=np.float32))
        terminated.append(np.asarray(ep_terminated, dtype=bool))
        index.append(np.full(steps, k, dtype=np.int64))
    return Demonstrations(
        env_id=env_id,
        observations={k: np.concatenate(v) for k, v in obs.items()},
        next_observations={k: np.concatenate(v) for k, v in next_obs.items()},
        actions=np.concatenate(actions),
        rewards=np.concatenate(rewards),
        terminated=np.concatenate(terminated),
        episode=np.concatenate(index),
        num_episodes=len(episodes),
        source=str(source),
        reward_definition=recorded_reward_definition(env_id, env_kwargs, meta, str(source)),
    )


def recorded_reward_definition(env_id: str, env_kwargs: dict[str, Any], meta: dict[str, Any], source: str) -> dict:
    """The reward definition a recording's rewards were computed under: its task's config built from the recorded
    options (defaults for the rest), with the revision its ``versions`` name (None when they name none)."""
    from embodia.envs.tasks.registry import task_spec

    config_cls = task_spec(env_id).task.Config
    try:
        config = config_cls.from_kwargs(**config_cls.own_options(env_kwargs))
    except (TypeError, ValueError) as error:
        raise DatasetError(f"dataset {source}: its recorded task options are not valid here ({error})") from None
    definition = config.reward_definition()
    definition["revision"] = recorded_versions(meta).get(REWARD_VERSION)
    return definition


def reward_differences(recorded: dict[str, Any] | None, env: dict[str, Any]) -> list[str]:
    """How a recording's reward definition differs from an env's (``TaskConfig.reward_definition``), one phrase
    each; empty when their rewards are the same function of the state."""
    if recorded is None:
        return ["no reward definition recorded"]
    differences = []
    if str(recorded.get("revision")) != str(env["revision"]):
        found = recorded.get("revision") or "before 3 (none recorded)"
        differences.append(f"reward revision {found} (the env's: {env['revision']})")
    for key in sorted((set(recorded) | set(env)) - {"revision", "weights"}):
        if recorded.get(key) != env.get(key):
            differences.append(f"{key}={recorded.get(key)!r} (the env's: {env.get(key)!r})")
    weights, env_weights = recorded.get("weights") or {}, env.get("weights") or {}
    for name in sorted(set(weights) | set(env_weights)):
        if weights.get(name) != env_weights.get(name):
            differences.append(f"w_{name}={weights.get(name)!r} (the env's: {env_weights.get(name)!r})")
    return differences


def flatten_observations(observations: dict[str, np.ndarray]) -> np.ndarray:
    """(N, D) in the env's flat layout: entries in sorted key order, each flattened."""
    keys = sorted(observations)
    n = len(observations[keys[0]])
    return np.concatenate([observations[k].reshape(n, -1) for k in keys], axis=1).astype(np.float32)
