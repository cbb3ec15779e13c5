"""One training run: behaviour cloning or stable-baselines3 RL on an embodia task, into a run folder.

A run folder holds ``run.json`` (task, algorithm, seed, config), ``checkpoints/`` (the latest model and replay
buffer, every ``checkpoint_every`` env steps), ``tb/`` (TensorBoard: SB3's ``run_<n>``, BC's ``bc``), ``curve.csv``
(success rate on fixed evaluation seeds every ``eval_every`` env steps), ``policy.zip`` (the final SB3 policy),
``eval.json`` (the final evaluation) and ``curve.png`` (the learning curve, ``plots.py``). Everything that can be
wrong with the input (config, dataset, checkpoint, folder) is checked before any training starts.

Long because a run is one sequence over one folder layout (checks, model, checkpoints and resume, the evaluation
curve, the final files); the algorithm table, datasets, BC, DAgger, demo-SAC, the VecEnv, the progress display and
the plots are modules of their own, and splitting the sequence further would spread the folder's layout over
several files.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import importlib
import json
import os
import pickle
import re
import shlex
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.callbacks import BaseCallback, CallbackList

from embodia.agents.episodes import check_first_seed
from embodia.agents.learn.algorithms import ALGORITHMS, ALGOS, Algorithm, learning_rate
from embodia.agents.learn.bc import demo_stats, train_bc
from embodia.agents.learn.config import TrainConfig, ensemble_decay_problem
from embodia.agents.learn.dagger import train_dagger
from embodia.agents.learn.dataset import DatasetError, Demonstrations, load_demonstrations, reward_differences
from embodia.agents.learn.demo_sac import attach_demonstrations, set_initial_std  # noqa: F401 (used from here)
from embodia.agents.learn.features import EXTRACTORS, extractor_for
from embodia.agents.learn.networks import (
    ENSEMBLE_DECAY,
    NormalizedExtractor,
    SB3Policy,
    flatten_batch,
    normalisation_stats,
)
from embodia.agents.learn.plots import plot_bc_curve, plot_rl_curve
from embodia.agents.learn.progress import BCProgress, Progress
from embodia.agents.learn.rollout import evaluate_success
from embodia.agents.learn.vec_env import EmbodiaVecEnv
from embodia.agents.learn.vision import VisualExtractor
from embodia.agents.policy import class_name
from embodia.envs.core.batched_env import PIXEL_ONLY_OPTIONS, make_batched
from embodia.envs.record.episode import (
    MAX_NAME_CHARS,
    DataFileError,
    JSONError,
    one_line,
    package_versions,
    parse_json,
    read_json_file,
)
from embodia.envs.record.recorder import uncut
from embodia.envs.record.replay import OBSERVATION_OPTIONS
from embodia.envs.tasks.base import REWARD_REVISION
from embodia.envs.tasks.registry import task_spec

RUN_FORMAT = "embodia.train"
#: the stable-baselines3 class of every algorithm that has one (checkpoints are theirs)
ALGO_CLASSES = {name: algorithm.model_class() for name, algorithm in ALGORITHMS.items() if algorithm.checkpoints}
VALIDATION_SEED = 2_000_000  # DAgger's round selection; demos use 0.., evaluation 1,000,000..
STATS_STEPS = 100  # vector steps of random actions whose observations set the normalisation of RL from scratch
CHECKPOINT_NAME = re.compile(r"model_(\d{1,18})\.zip")
#: the most seconds a resumed run may have trained before (a century): a larger ``wall_s`` is not a real one
MAX_WALL_S = 100 * 365 * 24 * 3600.0
#: the largest JSON part of a checkpoint read (SB3 writes some 20 KB: constructor arguments, spaces)
MAX_CHECKPOINT_DATA_BYTES = 16 * 2**20
PICKLE_WARNING = "model files are pickles and can run code when loaded; loading {path} because you named it"


class RunError(ValueError):
    """A run folder, checkpoint or algorithm that cannot be used; raised before training starts."""


def env_kwargs(config: TrainConfig) -> dict[str, Any]:
    return {**config.env_kwargs, "obs_mode": config.obs_mode}


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint of the most env steps, ``checkpoints/model_<steps>.zip`` (other names are not checkpoints)."""
    found = [p for p in (run_dir / "checkpoints").glob("model_*.zip") if CHECKPOINT_NAME.fullmatch(p.name)]
    return max(found, key=lambda p: int(CHECKPOINT_NAME.fullmatch(p.name)[1]), default=None)


@dataclass(frozen=True)
class TaskSpaces:
    """A task's spaces under a training config: what demonstrations hold (``state``, the dict observation), what
    the policy sees (``observation``, in the config's ``obs_mode``), the action space and the control mode."""

    state: spaces.Dict
    observation: spaces.Space
    action: spaces.Box
    control_mode: str


def task_spaces(env_id: str, config: TrainConfig) -> TaskSpaces:
    """The spaces, from one env of one simulation built for it and closed at once (the flat observation is the
    dict one flattened, as the env flattens it)."""
    state_kwargs = {k: v for k, v in config.env_kwargs.items() if k not in PIXEL_ONLY_OPTIONS}
    probe = make_batched(env_id, 1, **{**state_kwargs, "obs_mode": "dict"})
    try:
        state, action = probe.single_observation_space, probe.single_action_space
        control_mode = probe.options.control_mode
    finally:
        probe.close()
    if config.obs_mode == "dict":
        observation = state
    elif config.obs_mode == "flat":
        observation = spaces.flatten_space(state)
    else:  # goal, pixels: spaces only that mode's env knows
        probe = make_batched(env_id, 1, **env_kwargs(config))
        observation = probe.single_observation_space
        probe.close()
    return TaskSpaces(state, policy_observation_space(observation, config.policy_state), action, control_mode)


def policy_observation_space(space: spaces.Space, policy_state: str) -> spaces.Space:
    """The entries of the env's observation a policy sees: numbers only (not the instruction's ``Text``) and,
    with ``policy_state="robot"``, none of the task's state (``task_*``)."""
    if not isinstance(space, spaces.Dict):
        return space
    return spaces.Dict({
        key: entry
        for key, entry in space.spaces.items()
        if not isinstance(entry, spaces.Text) and (policy_state == "all" or not key.startswith("task_"))
    })  # fmt: skip


def image_options(config: TrainConfig) -> dict[str, Any] | None:
    """The env options that make a pixels config's images, for rendering them from recorded states."""
    if config.obs_mode != "pixels":
        return None
    chosen = {k: config.env_kwargs[k] for k in OBSERVATION_OPTIONS if k in config.env_kwargs}
    return {**{k: tuple(v) if isinstance(v, list) else v for k, v in chosen.items()}, "obs_mode": "pixels"}


def _load_demos(env_id: str, config: TrainConfig, task: TaskSpaces | None = None) -> Demonstrations:
    if not config.demos:
        raise RunError("this algorithm needs demonstrations: set demos: to a run folder or a Minari dataset id")
    task = task or task_spaces(env_id, config)
    try:
        return load_demonstrations(config.demos, env_id, task.state, task.action, config.demo_episodes,
                                   task.control_mode, image_options(config))  # fmt: skip
    except DatasetError as error:
        if Path(config.demos).exists():
            raise
        raise DatasetError(f"{error}. Record the demonstrations first: {collect_command(env_id, config)}") from None


def collect_command(env_id: str, config: TrainConfig) -> str:
    """The command that records ``config.demos`` as a run folder of the task's expert (seeds 0..); a folder named
    ``<Task>-v0-dart<noise>[-push<rate>][-turn<metres>][-open<metres>][-successes[-<episodes>]]`` holds DART
    demonstrations (with held pushes, the expert turning its jaws near the part, opening them this wide before a
    grasp, finished episodes only), which experiments/bc_levers.py records under exactly those settings."""
    name = r"(\w+)-v0-dart([0-9.]+)(?:-push([0-9.]+))?(?:-turn([0-9.]+))?(?:-open([0-9.]+))?(-successes(?:-(\d+))?)?"
    dart = re.fullmatch(name, Path(config.demos).name)
    if dart:
        task, noise, pushes, turn, opening, successes, episodes = dart.groups()
        command = f"python experiments/bc_levers.py collect --task {task} --noise {noise}"
        if pushes:
            command += f" --pushes {pushes}"
        if turn:
            command += f" --turn-within {turn}"
        if opening:
            command += f" --pregrasp-open {opening}"
        if successes:
            command += f" --successes-only --episodes {episodes or config.demo_episodes}"
        return f"{command} --out {config.demos}"
    options = "".join(f" --option {shlex.quote(f'{name}={_yaml_value(value)}')}"
                      for name, value in _task_options(env_id, config).items())  # fmt: skip
    return (f"embodia run {env_id} --policy expert --episodes {config.demo_episodes} --seed 0 --num-envs 10 "
            f"--no-video{options} --record {config.demos}")  # fmt: skip


def _yaml_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _task_options(env_id: str, config: TrainConfig) -> dict[str, Any]:
    """The config's ``env_kwargs`` that set the task, not how it is observed."""
    return task_spec(env_id).task.Config.own_options(config.env_kwargs)


def check_demo_rewards(env_id: str, config: TrainConfig, demos: Demonstrations, algo: str) -> None:
    """Refuse demonstrations whose recorded rewards are not the env's (another revision of the rewards, another
    mode, weights, termination or episode length): a learner from their rewards would mix two reward functions."""
    env_definition = task_spec(env_id).task.Config.from_kwargs(**_task_options(env_id, config)).reward_definition()
    differences = reward_differences(demos.reward_definition, env_definition)
    if differences:
        raise DatasetError(
            f"dataset {demos.source}: its rewards are not this env's ({'; '.join(differences)}), and {algo} learns "
            f"from them beside the env's own. Record the demonstrations again: {collect_command(env_id, config)}"
        )


def _random_stats(env: EmbodiaVecEnv, seed: int) -> dict[str, list[float]]:
    """Normalisation from a short random-action rollout on a separate env (its steps are not counted)."""
    options = dataclasses.asdict(env.core.options)
    probe = make_batched(env.env_id, env.num_envs, config=env.core.config, **options)
    rng = np.random.default_rng(seed)
    obs, _ = probe.reset(seeds=[int(s) for s in rng.integers(0, 2**31 - 1, size=env.num_envs)])
    samples = [flatten_batch(obs)]
    for _ in range(STATS_STEPS):
        obs, *_ = probe.step(rng.uniform(-1, 1, size=(env.num_envs, probe.controller.action_dim)))
        samples.append(flatten_batch(obs))
    probe.close()
    return normalisation_stats(np.concatenate(samples))


def build_model(algo: str, config: TrainConfig, env: EmbodiaVecEnv, stats: dict, run_dir: Path, seed: int):
    """A new model of ``algo`` (an algorithm with a stable-baselines3 class), with the config's settings."""
    algorithm = ALGORITHMS[algo]
    policy_kwargs: dict[str, Any] = {
        "features_extractor_class": EXTRACTORS[config.policy_features],
        "features_extractor_kwargs": stats,
        "net_arch": list(config.net_arch),
    }
    if algorithm.policy_options is not None:
        policy_kwargs.update(algorithm.policy_options(config))
    policy = "MultiInputPolicy" if config.obs_mode in ("dict", "goal") else "MlpPolicy"
    if config.critic_layer_norm:
        from embodia.agents.learn.rlpd import RLPD

        policy = RLPD.policy_aliases[policy]
    common = dict(
        learning_rate=learning_rate(config),
        gamma=config.gamma,
        seed=seed,
        device="cpu",
        verbose=0,
        tensorboard_log=str(run_dir / "tb"),
        policy_kwargs=policy_kwargs,
    )
    model = algorithm.model_class()(policy, env, **algorithm.options(config, env), **common)
    algorithm.settings(model, config)
    return model


# ---------------------------------------------------------------------------------------------- callbacks
class Bookkeeping(BaseCallback):
    """Checkpoints (the latest only) every ``checkpoint_every`` and evaluation points every ``eval_every`` steps;
    ``progress`` shows each evaluation."""

    def __init__(self, run_dir: Path, env_id: str, config: TrainConfig, wall_before_s: float, progress: Progress):
        super().__init__()
        self.run_dir, self.env_id, self.config, self.progress = run_dir, env_id, config, progress
        self.wall_before_s, self.started = wall_before_s, time.perf_counter()
        self.next_checkpoint = self.next_eval = 0

    def wall_s(self) -> float:
        return self.wall_before_s + time.perf_counter() - self.started

    def _on_training_start(self) -> None:
        every_c, every_e = self.config.checkpoint_every, self.config.eval_every
        self.next_checkpoint = (self.num_timesteps // every_c + 1) * every_c
        self.next_eval = (self.num_timesteps // every_e + 1) * every_e
        if self.num_timesteps == 0:
            self.evaluate()

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_eval:
            self.evaluate()
            self.next_eval += self.config.eval_every
        if self.num_timesteps >= self.next_checkpoint:
            self.checkpoint()
            self.next_checkpoint += self.config.checkpoint_every
        return True

    def evaluate(self) -> None:
        cfg = self.config
        result = evaluate_success(
            self.env_id, SB3Policy(self.model.policy), cfg.eval_episodes, cfg.eval_seed, 20, env_kwargs(cfg)
        )
        self.logger.record("eval/success_rate", result["success_rate"])
        self.logger.record("eval/mean_return", result["mean_return"])
        append_curve(self.run_dir, self.num_timesteps, self.wall_s(), result)
        self.progress.evaluated(result)

    def checkpoint(self) -> None:
        folder = self.run_dir / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        steps = self.num_timesteps
        old = [p for p in folder.glob("*") if p.stem.rsplit("_", 1)[-1] != str(steps)]
        # written whole or not at all: a stop signal waits for the block, and each file is written under a hidden
        # name and renamed (a crash mid-save never leaves a truncated newest checkpoint for --resume to pick)
        with uncut():
            if hasattr(self.model, "replay_buffer") and self.model.replay_buffer is not None:
                partial = folder / f".replay_buffer_{steps}.partial.pkl"
                self.model.save_replay_buffer(partial)
                os.replace(partial, folder / f"replay_buffer_{steps}.pkl")
            partial = folder / f".model_{steps}.partial.zip"
            self.model.save(partial)
            os.replace(partial, folder / f"model_{steps}.zip")
            partial = folder / f".progress_{steps}.partial.json"
            partial.write_text(json.dumps({"steps": steps, "wall_s": self.wall_s()}))
            os.replace(partial, folder / f"progress_{steps}.json")
        for path in old:
            path.unlink(missing_ok=True)


class RunningNormalization(BaseCallback):
    """``running_normalization``: the observations of each rollout (PPO's, or the rows an off-policy learner
    added to its replay buffer since the last) are merged into the policy's statistics when the next rollout
    starts, after the model trained on them, so that PPO trains on a rollout with the statistics it was collected
    with (the probabilities of its actions are then the ones its ratio starts from)."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: Any = None
        self.taken_steps = 0  # env steps whose replay rows were taken

    def _on_rollout_end(self) -> None:
        rollout = getattr(self.model, "rollout_buffer", None)
        if rollout is not None:  # PPO: the whole buffer, refilled every rollout
            rows = slice(None)
            observations = rollout.observations
        else:
            replay = self.model.replay_buffer  # the rows added since the last rollout end, before its position
            added = (self.num_timesteps - self.taken_steps) // replay.n_envs
            rows = (replay.pos - added + np.arange(added)) % replay.buffer_size
            self.taken_steps = self.num_timesteps
            observations = replay.observations
        if isinstance(observations, dict):  # (rows, envs, ...) per entry
            self.pending = {key: _rows(value[rows]) for key, value in observations.items()}
        else:
            self.pending = _rows(observations[rows])

    def _on_rollout_start(self) -> None:
        if self.pending is None:
            return
        for module in self.model.policy.modules():
            if isinstance(module, NormalizedExtractor) and module.running:
                module.merge_statistics(self.pending)
        self.pending = None

    def _on_step(self) -> bool:
        return True


def _rows(steps_by_envs: np.ndarray) -> np.ndarray:
    """(steps, envs, ...) as a copy of (steps * envs, ...) rows (the buffer is refilled before they are merged)."""
    return np.array(steps_by_envs.reshape(-1, *steps_by_envs.shape[2:]))


def append_curve(run_dir: Path, steps: int, wall_s: float, result: dict[str, Any]) -> None:
    path = run_dir / "curve.csv"
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(["env_steps", "wall_s", "success_rate", "mean_return"])
        writer.writerow([steps, f"{wall_s:.1f}", f"{result['success_rate']:.4f}", f"{result['mean_return']:.3f}"])


def read_curve(run_dir: Path) -> list[dict[str, float]]:
    path = Path(run_dir) / "curve.csv"
    if not path.exists():
        return []
    with open(path) as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


# ---------------------------------------------------------------------------------------------- runs
def run_record(env_id: str, algo: str, seed: int, config: TrainConfig, policy_class: str) -> dict[str, Any]:
    return {
        "format": RUN_FORMAT,
        "env_id": env_id,
        "algo": algo,
        "seed": seed,
        "config": config.to_dict(),
        "env_kwargs": env_kwargs(config),
        "policy_class": policy_class,
        "versions": {**package_versions(), "torch": torch.__version__, "rewards": REWARD_REVISION},
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def check_run_dir(run_dir: Path, env_id: str, algo: str, resume: bool) -> Path | None:
    """The checkpoint to resume from (None: a fresh run); a folder that cannot be used raises ``RunError``."""
    record = run_dir / "run.json"
    if not resume:
        if record.exists():
            raise RunError(f"{run_dir} already holds a training run; resume it (--resume) or choose another --out")
        return None
    if not record.exists():
        raise RunError(f"cannot resume: {run_dir} holds no training run (no run.json)")
    previous = read_run_json(record)
    if (previous["env_id"], previous["algo"]) != (env_id, algo):
        raise RunError(f"cannot resume: {run_dir} is a {previous['algo']} run on {previous['env_id']}")
    if not ALGORITHMS[algo].checkpoints:
        raise RunError("behaviour cloning has no checkpoints to resume; rerun it (it takes seconds to minutes)")
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        raise RunError(f"cannot resume: no checkpoint in {run_dir / 'checkpoints'} (model_<steps>.zip)")
    return checkpoint


def read_run_json(path: Path) -> dict[str, Any]:
    """A run's ``run.json``, read as bounded data (``read_json_file``); its ``env_id`` and ``algo`` are strings.
    Anything else is a one-line ``RunError`` naming the file."""
    try:
        record = read_json_file(path, what="a training run's record (run.json)")
    except (DataFileError, OSError) as error:
        reason = one_line(error).removeprefix(f"{path}: ")
        raise RunError(f"{path}: {reason}; train the policy again") from None
    if not isinstance(record, dict):
        raise RunError(f"{path}: not a JSON object, so not an embodia training record; train the policy again")
    wrong = [key for key in ("env_id", "algo") if not _is_name(record.get(key))]
    if wrong:
        raise RunError(f"{path}: {' and '.join(wrong)} must be a name (one line of text); train the policy again")
    return record


def resumed_wall_s(checkpoint: Path) -> float:
    """Seconds the run had trained when ``checkpoint`` was written, from its ``progress_<steps>.json`` (0 without
    one); a file that is not such a record is a one-line ``RunError`` naming it."""
    path = checkpoint.with_name(checkpoint.name.replace("model_", "progress_").replace(".zip", ".json"))
    if not (path.exists() or path.is_symlink()):
        return 0.0
    try:
        progress = read_json_file(path, what="a checkpoint's progress record")
    except (DataFileError, OSError) as error:
        raise RunError(f"cannot resume: {one_line(error)}") from None
    wall_s = progress.get("wall_s") if isinstance(progress, dict) else None
    if isinstance(wall_s, bool) or not isinstance(wall_s, (int, float)) or not 0 <= wall_s <= MAX_WALL_S:
        raise RunError(
            f"cannot resume: {path}: 'wall_s' must be the seconds trained (0 to {MAX_WALL_S:.0f}), got "
            f"{one_line(repr(wall_s), limit=40)}"
        )
    return float(wall_s)


def train(
    env_id: str,
    algo: str,
    config: TrainConfig,
    seed: int,
    run_dir: str | Path,
    resume: bool = False,
    progress: bool = True,
    stop_after_steps: int | None = None,
) -> dict[str, Any]:
    """Train ``algo`` on ``env_id`` into ``run_dir``; return the final evaluation (also ``eval.json``).

    ``stop_after_steps`` ends training early at that env step count, as an interruption would (for tests).
    """
    if algo not in ALGOS:
        raise RunError(f"unknown algorithm {algo!r}; valid: {', '.join(ALGOS)}")
    algorithm = ALGORITHMS[algo]
    task_spec(env_id)
    seed = check_first_seed(seed)  # before the run folder is made
    if config.bc_chunk > 1 and algo != "bc":
        raise RunError(f"bc_chunk={config.bc_chunk} is for behaviour cloning; {algo} acts one action per step")
    if config.critic_layer_norm and not algorithm.soft_actor_critic:
        valid = " and ".join(n for n, a in ALGORITHMS.items() if a.soft_actor_critic)
        raise RunError(f"critic_layer_norm: true works with {valid}, not {algo}")
    if (config.obs_mode == "pixels" or config.policy_state != "all") and algo != "bc":
        raise RunError(
            f"obs_mode: pixels and policy_state: robot train bc (from demonstrations), not {algo}; RL from images: "
            "the env's obs_mode='pixels' works with stock SB3's MultiInputPolicy"
        )
    if config.obs_mode == "pixels" and config.dagger_rounds:
        raise RunError("dagger_rounds with obs_mode: pixels is not supported; set dagger_rounds: 0")
    if config.running_normalization and (algorithm.needs_demos or not algorithm.checkpoints):
        valid = ", ".join(n for n, a in ALGORITHMS.items() if a.checkpoints and not a.needs_demos)
        raise RunError(f"running_normalization: true is for RL from scratch ({valid}), not {algo}: the statistics of "
                       "a learner from demonstrations are the demonstrations'")  # fmt: skip
    if config.action_bound_penalty and algo != "ppo":
        raise RunError(f"action_bound_penalty is PPO's (its Gaussian mean, clipped to the action box), not {algo}'s")
    if config.her and not algorithm.her:
        raise RunError(f"her: true works with {' and '.join(n for n, a in ALGORITHMS.items() if a.her)}, not {algo}")
    if config.normalize_reward and algorithm.needs_demos:
        raise RunError(
            f"normalize_reward: true scales the env's rewards, not those of the demonstrations {algo} learns "
            "from; set normalize_reward: false"
        )
    run_dir = Path(run_dir)
    checkpoint = check_run_dir(run_dir, env_id, algo, resume)
    task = task_spaces(env_id, config) if algorithm.needs_demos else None
    demos = _load_demos(env_id, config, task) if task is not None else None
    if algorithm.learns_demo_rewards:
        check_demo_rewards(env_id, config, demos, algo)
    torch.set_num_threads(1)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if not algorithm.checkpoints:  # behaviour cloning: fitted in epochs, not stepped
        return _train_bc(env_id, config, seed, run_dir, demos, task, progress, started)
    wall_before_s = resumed_wall_s(checkpoint) if checkpoint is not None else 0.0
    env = EmbodiaVecEnv(env_id, config.num_envs, seed, **env_kwargs(config))
    if config.normalize_reward:
        env.reward_scale = 1.0 / env.core.config.full_dense_rate()
    if checkpoint is not None:
        model = _resume_model(algorithm, checkpoint, env, config)
    else:
        model = _new_model(env_id, algorithm, config, env, demos, run_dir, seed)
    target = config.total_steps if stop_after_steps is None else min(stop_after_steps, config.total_steps)
    last = read_curve(run_dir)[-1:]  # a resumed run shows its last evaluation from the start
    bar = Progress(target, progress, f"{env_id} {algo}", last[0]["success_rate"] if last else None)
    book = Bookkeeping(run_dir, env_id, config, wall_before_s, bar)
    remaining = max(0, target - model.num_timesteps)
    callbacks = [bar, book] + ([RunningNormalization()] if config.running_normalization else [])
    model.learn(remaining, callback=CallbackList(callbacks), reset_num_timesteps=checkpoint is None,
                tb_log_name="run")  # fmt: skip
    book.checkpoint()
    result = None
    if model.num_timesteps >= config.total_steps:  # else interrupted on purpose: no final evaluation
        model.policy.save(run_dir / "policy.zip")
        result = final_evaluation(env_id, SB3Policy(model.policy), config, run_dir, algo, seed, book.wall_s(),
                                  model.num_timesteps)  # fmt: skip
    env.close()
    plot_rl_curve(run_dir / "curve.png", f"{env_id} {algo}, seed {seed}", read_curve(run_dir), result)
    return result or {"env_steps": model.num_timesteps, "interrupted": True}


def _resume_model(algorithm: Algorithm, checkpoint: Path, env: EmbodiaVecEnv, config: TrainConfig) -> Any:
    """The model of ``checkpoint`` with its replay buffer (when it has one) and the config's settings."""
    warnings.warn(PICKLE_WARNING.format(path=checkpoint), stacklevel=3)
    model = algorithm.model_class().load(checkpoint, env=env, device="cpu")
    buffer_path = checkpoint.with_name(checkpoint.name.replace("model_", "replay_buffer_").replace(".zip", ".pkl"))
    if buffer_path.exists():
        model.load_replay_buffer(buffer_path)
    algorithm.settings(model, config)
    return model


def _new_model(env_id, algorithm: Algorithm, config, env, demos, run_dir: Path, seed: int) -> Any:
    """A new model, started (``algorithm.start``) and recorded in ``run.json``."""
    stats = demo_stats(demos, config) if demos is not None else _random_stats(env, seed)
    if config.running_normalization:
        stats = {**stats, "running": True}
    model = build_model(algorithm.name, config, env, stats, run_dir, seed)
    if algorithm.start is not None:
        algorithm.start(model, demos, env, config, seed)
    record = run_record(env_id, algorithm.name, seed, config, class_name(type(model.policy)))
    (run_dir / "run.json").write_text(json.dumps(record, indent=2))
    return model


def _train_bc(env_id, config, seed, run_dir, demos, task: TaskSpaces, progress, started) -> dict[str, Any]:
    """BC (or DAgger), shown on a bar and in TensorBoard (``tb/bc``), then evaluated and plotted."""
    extractor, space = extractor_for(config.obs_mode, config.policy_features), task.observation
    dagger = config.dagger_rounds > 0
    label, total = (f"{env_id} dagger", config.dagger_rounds + 1) if dagger else (f"{env_id} bc", config.bc_epochs)
    with BCProgress(run_dir / "tb" / "bc", label, total, "round" if dagger else "epoch", progress) as shown:
        if not dagger:
            policy, history = train_bc(demos, space, task.action, config, seed, shown.epoch, extractor)
            record = run_record(env_id, "bc", seed, config, class_name(type(policy)))
            record["bc"] = dataclasses.asdict(history) | {"transitions": len(demos), "episodes": demos.num_episodes}
            fits, validation = [history], []
        else:
            policy, record, fits = _train_dagger(env_id, config, seed, demos, space, task.action, extractor, shown)
            validation = [r["validation_success"] for r in record["dagger"]["rounds"]]
        (run_dir / "run.json").write_text(json.dumps(record, indent=2))
        policy.save(run_dir / "policy.zip")
        wall_s = time.perf_counter() - started
        result = final_evaluation(
            env_id, SB3Policy(policy, config.bc_chunk, config.bc_ensemble_decay), config, run_dir, "bc", seed, wall_s, 0
        )
        shown.evaluated(result["success_rate"])
    title = f"{env_id} {'bc + DAgger' if dagger else 'bc'}, seed {seed}"
    plot_bc_curve(run_dir / "curve.png", title, fits, result, validation)
    return result


def _train_dagger(
    env_id, config, seed, demos, space, action_space, extractor, shown: BCProgress
) -> tuple[Any, dict, list]:
    """BC, then ``config.dagger_rounds`` DAgger rounds; keeps the round with the best success on
    ``eval_episodes`` validation episodes (seeded ``VALIDATION_SEED`` + k, disjoint from the final evaluation).
    Returns the policy, the run record and every round's BC fit."""
    best: dict[str, Any] = {"validation": -1.0}
    rounds: list[dict[str, Any]] = []

    def on_iteration(i: int, policy: Any, history: Any) -> None:
        result = evaluate_success(env_id, SB3Policy(policy), config.eval_episodes, VALIDATION_SEED, 20,
                                  env_kwargs(config))  # fmt: skip
        rounds.append({"round": i, "validation_success": result["success_rate"],
                       "transitions": history.transitions[-1],
                       "rollout_success": history.rollout_success[-1]})  # fmt: skip
        shown.round(i, history.bc[-1], result["success_rate"])
        if result["success_rate"] > best["validation"]:
            best.update(validation=result["success_rate"], policy=policy, round=i)

    _, history = train_dagger(env_id, demos, space, action_space, config, seed, config.dagger_rounds,
                              config.dagger_episodes, on_iteration=on_iteration, extractor_class=extractor)  # fmt: skip
    record = run_record(env_id, "bc", seed, config, class_name(type(best["policy"])))
    record["dagger"] = {"rounds": rounds, "selected_round": best["round"], "validation_seed": VALIDATION_SEED}
    return best["policy"], record, history.bc


def final_evaluation(env_id, policy, config, run_dir, algo, seed, wall_s, env_steps) -> dict[str, Any]:
    result = evaluate_success(env_id, policy, config.final_eval_episodes, config.eval_seed, 20, env_kwargs(config))
    result["eval_seed"] = result.pop("seed")
    result.update(env_id=env_id, algo=algo, seed=seed, env_steps=int(env_steps), train_wall_s=round(wall_s, 1))
    (Path(run_dir) / "eval.json").write_text(json.dumps(result, indent=2))
    return result


# ---------------------------------------------------------------------------------------------- loading
#: modules a run's ``policy_class`` may come from
POLICY_MODULES = ("stable_baselines3.", "embodia.agents.")
CODE_WARNING = (
    "loading {path}: a trained policy is code-equivalent, like any model checkpoint (its files name the code that "
    "runs, and model files can run code when loaded); load only folders you trust"
)
#: numpy dtypes a saved space or random generator may hold
NUMPY_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
                "float32", "float64")  # fmt: skip
#: attributes a policy file may look up on an allowed class (SB3 pickles its dummy learning-rate schedule so)
ALLOWED_ATTRIBUTES = ("_dummy_schedule",)


def _allowed_classes() -> list[type]:
    """The classes a policy file may name in its constructor arguments: spaces, layers, optimisers, extractors."""
    from gymnasium import spaces
    from stable_baselines3.common import policies, torch_layers

    classes = [spaces.Box, spaces.Dict, spaces.Discrete, spaces.MultiBinary, spaces.MultiDiscrete]
    classes += [torch.nn.ReLU, torch.nn.Tanh, torch.nn.ELU, torch.nn.LeakyReLU, torch.nn.GELU, torch.nn.SiLU]
    classes += [torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD, torch.optim.RMSprop]
    classes += [torch_layers.FlattenExtractor, torch_layers.CombinedExtractor, NormalizedExtractor]
    classes += [*EXTRACTORS.values(), VisualExtractor]
    classes += [policies.BasePolicy, *(cls.policy_aliases[alias] for cls in ALGO_CLASSES.values()
                                       for alias in ("MlpPolicy", "MultiInputPolicy"))]  # fmt: skip
    return classes


def _restricted_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as a policy file may use it: only ``ALLOWED_ATTRIBUTES`` of an SB3 policy class."""
    from stable_baselines3.common.policies import BasePolicy

    if isinstance(obj, type) and issubclass(obj, BasePolicy) and name in ALLOWED_ATTRIBUTES:
        return getattr(obj, name)
    raise pickle.UnpicklingError(f"the file looks up {name!r} on {obj!r}, which a policy file does not need")


def _safe_globals() -> list[Any]:
    """What ``torch.load(weights_only=True)`` may build from a saved SB3 policy besides tensors and containers."""
    import numpy.random._pickle as np_random_pickle
    from numpy._core import multiarray
    from numpy.random import bit_generator

    named = [
        (_restricted_getattr, "builtins.getattr"),
        (multiarray._reconstruct, "numpy._core.multiarray._reconstruct"),
        (np_random_pickle.__generator_ctor, "numpy.random._pickle.__generator_ctor"),
        (np_random_pickle.__bit_generator_ctor, "numpy.random._pickle.__bit_generator_ctor"),
        (bit_generator.__pyx_unpickle_SeedSequence, "numpy.random.bit_generator.__pyx_unpickle_SeedSequence"),
    ]
    numpy_types = [np.ndarray, np.dtype, np.random.PCG64, np.random.SeedSequence, np.random.Generator]
    numpy_types += [type(np.dtype(t)) for t in NUMPY_DTYPES]
    return [*named, *numpy_types, *_allowed_classes()]


def _read_record(run_dir: Path) -> dict[str, Any]:
    record_path = run_dir / "run.json"
    if not record_path.is_file():
        raise RunError(
            f"{run_dir} is not a training run folder (no run.json); name the folder `embodia train` wrote, its "
            "policy.zip or one of its checkpoints/model_<steps>.zip"
        )
    record = read_run_json(record_path)
    if record.get("format") != RUN_FORMAT:
        raise RunError(f"{record_path} is not an embodia training record (format {RUN_FORMAT!r})")
    missing = [k for k in ("env_id", "algo", "env_kwargs", "config", "policy_class") if k not in record]
    if missing:
        raise RunError(f"{record_path} lacks {', '.join(missing)}; train the policy again")
    seed = record.get("seed")
    wrong = [
        *(f"{k} must be an object" for k in ("env_kwargs", "config") if not isinstance(record[k], dict)),
        *(["policy_class must be text"] if not isinstance(record["policy_class"], str) else []),
        *(["seed must be an integer"] if seed is not None and not _is_seed(seed) else []),
        *_wrong_acting_options(record["config"]),
    ]
    if wrong:
        raise RunError(f"{record_path}: {', '.join(wrong)}; train the policy again")
    return record


def acting_options(record: dict[str, Any]) -> tuple[int, float]:
    """(bc_chunk, bc_ensemble_decay) a run's policy acts by, from its record (checked when it was read)."""
    config = record.get("config", {})
    return int(config.get("bc_chunk", 1)), float(config.get("bc_ensemble_decay", ENSEMBLE_DECAY))


def _wrong_acting_options(config: Any) -> list[str]:
    """What is wrong with the options a loaded policy acts by (its chunk and their ensembling)."""
    if not isinstance(config, dict):
        return []
    chunk, decay = config.get("bc_chunk", 1), config.get("bc_ensemble_decay", ENSEMBLE_DECAY)
    if not (_is_seed(chunk) and chunk >= 1):
        return [f"config.bc_chunk must be a positive integer, not {chunk!r}"]
    if not (isinstance(decay, (int, float)) and not isinstance(decay, bool)):
        return [f"config.bc_ensemble_decay must be a number, not {decay!r}"]
    problem = ensemble_decay_problem(decay, chunk)
    return [f"config.{problem}"] if problem else []


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_NAME_CHARS and value.isprintable()


def _is_seed(value: Any) -> bool:
    """An integer seed (numpy's are below 2**128; JSON integers have no limit)."""
    return isinstance(value, int) and not isinstance(value, bool) and -(2**128) < value < 2**128


def resolve_policy_path(path: str | Path) -> tuple[Path, Path]:
    """(run folder, model file) for a run folder (its ``policy.zip``, else its latest checkpoint), its
    ``policy.zip`` or a checkpoint ``checkpoints/model_<steps>.zip``."""
    path = Path(path)
    if path.is_dir():
        model = path / "policy.zip"
        if not model.is_file():
            model = latest_checkpoint(path) if (path / "run.json").is_file() else None
            if model is None:
                _read_record(path)  # says what the folder lacks
                raise RunError(f"{path} holds no trained policy (no policy.zip, no checkpoints/model_<steps>.zip)")
        return path, model
    if path.is_file():
        run_dir = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        if path.suffix != ".zip":
            raise RunError(f"{path} is not a policy file (RUN/policy.zip or RUN/checkpoints/model_<steps>.zip)")
        return run_dir, path
    raise RunError(f"{path} does not exist; name a run folder written by `embodia train` or a policy file in one")


def _policy_class(record: dict[str, Any]) -> type:
    from stable_baselines3.common.policies import BasePolicy

    module, _, name = str(record["policy_class"]).partition(":")
    if not module.startswith(POLICY_MODULES):
        raise RunError(f"run.json names policy class {record['policy_class']!r}, which embodia does not load")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise RunError(f"run.json names policy class {record['policy_class']!r}, which does not exist") from None
    if not (isinstance(cls, type) and issubclass(cls, BasePolicy)):
        raise RunError(f"run.json names {record['policy_class']!r}, which is not a stable-baselines3 policy class")
    return cls


def _load_policy_file(path: Path, record: dict[str, Any]) -> Any:
    """An SB3 ``policy.save`` file (a torch pickle of constructor arguments and weights), read weights-only."""
    import zipfile

    cls = _policy_class(record)
    try:
        with torch.serialization.safe_globals(_safe_globals()):
            saved = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise RunError(f"{path} cannot be loaded as a policy file ({_load_error_reason(error)})") from None
    if not (isinstance(saved, dict) and isinstance(saved.get("data"), dict) and "state_dict" in saved):
        raise RunError(f"{path} is not a saved policy (no constructor data and weights)")
    try:
        policy = cls(**saved["data"])
        policy.load_state_dict(saved["state_dict"])
    except Exception as error:  # whatever the file's arguments make the constructor raise
        raise RunError(f"{path} does not fit {record['policy_class']}: {_first_line(error)}") from None
    return policy


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _load_error_reason(error: BaseException) -> str:
    """The telling line of a (weights-only) loading error: what the file holds that is not allowed."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("Unsupported global", "Can only", "Trying to", "the file looks up")):
            return f"it holds something a policy file does not: {line}"
    if lines and lines[0].startswith("Weights only load failed"):
        return "not a saved policy, or a damaged one"
    return lines[0] if lines else type(error).__name__


def _class_from_text(text: str, key: str, path: Path) -> type:
    """A class SB3 wrote into a checkpoint's JSON as ``"<class 'module.Name'>"``, from the allowed ones only."""
    allowed = {f"<class '{cls.__module__}.{cls.__qualname__}'>": cls for cls in _allowed_classes()}
    if text not in allowed:
        raise RunError(f"{path}: {key} is {text}, which embodia does not load")
    return allowed[text]


def _load_checkpoint(
    path: Path, record: dict[str, Any], observation_space: Any, action_space: Any
) -> tuple[Any, dict[str, tuple[int, ...]] | None]:
    """The policy of an SB3 algorithm checkpoint, without unpickling: its constructor arguments from the JSON part
    (classes from an allowlist), the weights from ``policy.pth`` with ``weights_only=True``; and the observation
    layout the JSON part describes (None when it does not)."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            declared = archive.getinfo("data").file_size  # reading stops there
            if declared > MAX_CHECKPOINT_DATA_BYTES:
                raise JSONError(f"its JSON part declares {declared} bytes, more than {MAX_CHECKPOINT_DATA_BYTES}")
            data = parse_json(archive.read("data").decode("utf-8"), MAX_CHECKPOINT_DATA_BYTES)
            state = torch.load(io.BytesIO(archive.read("policy.pth")), map_location="cpu", weights_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, RuntimeError, pickle.UnpicklingError, JSONError,
            UnicodeDecodeError) as error:  # fmt: skip
        raise RunError(f"{path} cannot be loaded as a checkpoint ({_first_line(error)})") from None
    if not (
        isinstance(data, dict)
        and all(isinstance(data.get(k) or {}, dict) for k in ("policy_kwargs", "observation_space"))
    ):
        raise RunError(f"{path} cannot be loaded as a checkpoint (its JSON part is not SB3's)")
    algo = record["algo"]
    if algo not in ALGO_CLASSES:
        raise RunError(f"{path}: a {algo} run has no checkpoints to load; use its policy.zip")
    kwargs = {}
    for key, value in (data.get("policy_kwargs") or {}).items():
        if key.startswith(":"):
            continue
        if isinstance(value, str) and value.startswith("<"):
            value = _class_from_text(value, f"policy_kwargs.{key}", path)
        kwargs[key] = value
    if data.get("use_sde") is True and "use_sde" not in kwargs:  # PPO hands gSDE to its policy beside policy_kwargs
        kwargs["use_sde"] = True
    from stable_baselines3.common.policies import BasePolicy

    try:
        policy = _policy_class(record)(observation_space, action_space, BasePolicy._dummy_schedule, **kwargs)
        policy.load_state_dict(state)
    except Exception as error:  # whatever the file's arguments make the constructor raise
        raise RunError(f"{path} does not fit this task's spaces: {_first_line(error)}") from None
    return policy, _saved_layout(data.get("observation_space") or {})


def space_layout(space: Any) -> dict[str, tuple[int, ...]]:
    """Observation entries and their shapes: a Dict's keys, or ``{"": shape}`` for a flat Box."""
    from gymnasium import spaces

    if isinstance(space, spaces.Dict):
        return {key: tuple(sub.shape) for key, sub in space.spaces.items()}
    return {"": tuple(space.shape)}


def _saved_layout(text: dict[str, Any]) -> dict[str, tuple[int, ...]] | None:
    """The layout SB3 wrote into a checkpoint's JSON (keys, or the flat shape); None when it says neither."""
    if "spaces" in text:
        found = re.findall(r"'([^']+)': Box\([^()]*?\(([0-9, ]*)\)", str(text["spaces"]))
        return {key: tuple(int(v) for v in shape.split(",") if v.strip()) for key, shape in found} or None
    if "_shape" in text:
        return {"": tuple(text["_shape"])}
    return None


def check_layout(path: Path, env_id: str, trained: dict[str, tuple[int, ...]], now: dict[str, tuple[int, ...]]):
    """One line when the policy's observation layout is not the env's."""
    if trained == now:
        return
    if set(trained) == {""} or set(now) == {""}:
        raise RunError(
            f"{path} was trained on {_layout_text(trained)}, but {env_id} now gives {_layout_text(now)}: another "
            "observation layout; train the policy again"
        )
    missing, extra = sorted(set(trained) - set(now)), sorted(set(now) - set(trained))
    changed = sorted(k for k in set(trained) & set(now) if trained[k] != now[k])
    parts = [f"missing now: {', '.join(missing)}" if missing else "", f"new: {', '.join(extra)}" if extra else "",
             f"other shapes: {', '.join(changed)}" if changed else ""]  # fmt: skip
    raise RunError(
        f"{path} was trained with another observation layout than {env_id} gives now "
        f"({'; '.join(p for p in parts if p)}); train the policy again"
    )


def _layout_text(layout: dict[str, tuple[int, ...]]) -> str:
    if set(layout) == {""}:
        return f"a flat observation of shape {layout['']}"
    return f"observations {', '.join(sorted(layout))}"


def load_run_policy(path: str | Path, env_id: str | None = None) -> tuple[dict[str, Any], Any]:
    """The run record and its trained SB3 policy, from a run folder (its ``policy.zip``, or the latest checkpoint
    of a run that has not finished), its ``policy.zip`` or a checkpoint file.

    Warns first: a policy is code-equivalent. Neither file is unpickled with plain pickle: ``policy.zip`` is read
    with ``torch.load(weights_only=True)`` and an allowlist of classes (spaces, layers, extractors); a checkpoint's
    constructor arguments come from its JSON, its weights from ``policy.pth`` (weights only). The policy's
    observation layout is checked against the task's, built with the run's env options; ``env_id``, when given,
    is the task it must have been trained on. The record gains ``policy_file`` (the model file read) and
    ``run_dir``.
    """
    run_dir, model_path = resolve_policy_path(path)
    record = _read_record(run_dir)
    if env_id is not None and record["env_id"] != env_id:
        raise RunError(
            f"{path} was trained on {record['env_id']}, not on {env_id}; run it on {record['env_id']} or train one "
            f"on {env_id}"
        )
    try:
        task_spec(record["env_id"])
    except KeyError:
        raise RunError(f"{run_dir} was trained on {record['env_id']!r}, which this embodia does not have") from None
    try:
        env = make_batched(record["env_id"], 1, **dict(record["env_kwargs"]))
    except (TypeError, ValueError) as error:
        raise RunError(f"{run_dir}: the env options it was trained with are not valid now ({error})") from None
    try:
        policy_state = record.get("config", {}).get("policy_state", "all")
        now = space_layout(policy_observation_space(env.single_observation_space, policy_state))
        warnings.warn(CODE_WARNING.format(path=model_path), stacklevel=2)
        if model_path.name.startswith("model_") and model_path.parent.name == "checkpoints":
            policy, trained = _load_checkpoint(
                model_path, record, env.single_observation_space, env.single_action_space
            )
            trained = trained or now
        else:
            policy = _load_policy_file(model_path, record)
            trained = space_layout(policy.observation_space)
        check_layout(model_path, record["env_id"], trained, now)
        chunk, _ = acting_options(record)  # a BC policy may predict several steps at once
        if tuple(policy.action_space.shape) != (chunk * env.single_action_space.shape[0],):
            raise RunError(
                f"{model_path} acts with {policy.action_space.shape[0]} values, {record['env_id']} with "
                f"{env.single_action_space.shape[0]} (control_mode {env.options.control_mode}); train it again"
            )
    finally:
        env.close()
    policy.set_training_mode(False)
    return {**record, "policy_file": str(model_path), "run_dir": str(run_dir)}, policy
