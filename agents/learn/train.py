"""One training run: behaviour cloning or stable-baselines3 RL on an embodia task, into a run folder.

A run folder holds ``run.json`` (task, algorithm, seed, config), ``checkpoints/`` (the latest model and replay
buffer, every ``checkpoint_every`` env steps), ``tb/`` (TensorBoard), ``curve.csv`` (success rate on fixed
evaluation seeds every ``eval_every`` env steps), ``policy.zip`` (the final SB3 policy) and ``eval.json`` (the
final evaluation). Everything that can be wrong with the input (config, dataset, checkpoint, folder) is checked
before any training starts.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import importlib
import json
import re
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3 import PPO, SAC, TD3, HerReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.noise import NormalActionNoise
from tqdm.auto import tqdm

from embodia.agents.learn.bc import demo_stats, policy_inputs, train_bc
from embodia.agents.learn.config import ALGOS, TrainConfig
from embodia.agents.learn.dagger import train_dagger
from embodia.agents.learn.dataset import DatasetError, Demonstrations, load_demonstrations
from embodia.agents.learn.demo_sac import DemoReplayBuffer, SACWithDemos
from embodia.agents.learn.features import EXTRACTORS
from embodia.agents.learn.networks import NormalizedExtractor, SB3Policy, flatten_batch, normalisation_stats
from embodia.agents.learn.rollout import evaluate_success
from embodia.agents.learn.vec_env import EmbodiaVecEnv
from embodia.envs.core.batched_env import BatchedEnv
from embodia.envs.record.episode import package_versions
from embodia.registration import task_entry

RUN_FORMAT = "embodia.train"
ALGO_CLASSES = {"ppo": PPO, "sac": SAC, "td3": TD3, "sac+demos": SACWithDemos}
VALIDATION_SEED = 2_000_000  # DAgger's round selection; demos use 0.., evaluation 1,000,000..
STATS_STEPS = 100  # vector steps of random actions whose observations set the normalisation of RL from scratch
PICKLE_WARNING = "model files are pickles and can run code when loaded; loading {path} because you named it"


class RunError(ValueError):
    """A run folder, checkpoint or algorithm that cannot be used; raised before training starts."""


def env_kwargs(config: TrainConfig) -> dict[str, Any]:
    return {**config.env_kwargs, "obs_mode": config.obs_mode}


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = sorted((run_dir / "checkpoints").glob("model_*.zip"), key=lambda p: int(p.stem.split("_")[1]))
    return found[-1] if found else None


def _load_demos(env_id: str, config: TrainConfig) -> Demonstrations:
    if not config.demos:
        raise RunError("this algorithm needs demonstrations: set demos: to a run folder or a Minari dataset id")
    probe = BatchedEnv(task_entry(env_id).task, 1, **{**config.env_kwargs, "obs_mode": "dict"})
    control_mode = probe.options.control_mode
    try:
        return load_demonstrations(
            config.demos,
            env_id,
            probe.single_observation_space,
            probe.single_action_space,
            config.demo_episodes,
            control_mode,
        )
    except DatasetError as error:
        if Path(config.demos).exists():
            raise
        raise DatasetError(f"{error}. Record the demonstrations first: {collect_command(env_id, config)}") from None


def collect_command(env_id: str, config: TrainConfig) -> str:
    """The command that records ``config.demos`` as a run folder of the task's expert (seeds 0..); a folder named
    ``<Task>-v0-dart<noise>`` holds DART demonstrations, which experiments/bc_levers.py records."""
    dart = re.fullmatch(r"(\w+)-v0-dart([0-9.]+)", Path(config.demos).name)
    if dart:
        return f"python experiments/bc_levers.py collect --task {dart[1]} --noise {dart[2]} --out {config.demos}"
    return (f"embodia run {env_id} --policy expert --episodes {config.demo_episodes} --seed 0 --num-envs 10 "
            f"--no-video --record {config.demos}")  # fmt: skip


def _random_stats(env: EmbodiaVecEnv, seed: int) -> dict[str, list[float]]:
    """Normalisation from a short random-action rollout on a separate env (its steps are not counted)."""
    options = dataclasses.asdict(env.core.options)
    probe = BatchedEnv(task_entry(env.env_id).task, env.num_envs, config=env.core.config, **options)
    rng = np.random.default_rng(seed)
    obs, _ = probe.reset(seeds=[int(s) for s in rng.integers(0, 2**31 - 1, size=env.num_envs)])
    samples = [flatten_batch(obs)]
    for _ in range(STATS_STEPS):
        obs, *_ = probe.step(rng.uniform(-1, 1, size=(env.num_envs, probe.controller.action_dim)))
        samples.append(flatten_batch(obs))
    probe.close()
    return normalisation_stats(np.concatenate(samples))


def build_model(algo: str, config: TrainConfig, env: EmbodiaVecEnv, stats: dict, run_dir: Path, seed: int):
    policy_kwargs: dict[str, Any] = {
        "features_extractor_class": NormalizedExtractor,
        "features_extractor_kwargs": stats,
        "net_arch": list(config.net_arch),
    }
    policy = "MultiInputPolicy" if config.obs_mode in ("dict", "goal") else "MlpPolicy"
    common = dict(
        learning_rate=config.learning_rate,
        gamma=config.gamma,
        seed=seed,
        device="cpu",
        verbose=0,
        tensorboard_log=str(run_dir / "tb"),
        policy_kwargs=policy_kwargs,
    )
    if algo == "ppo":
        return PPO(
            policy,
            env,
            n_steps=config.n_steps,
            batch_size=config.batch_size,
            n_epochs=config.n_epochs,
            ent_coef=config.ent_coef,
            **common,
        )
    off_policy = dict(
        buffer_size=min(config.buffer_size, config.total_steps + config.num_envs),
        learning_starts=config.learning_starts,
        batch_size=config.batch_size,
        tau=config.tau,
        train_freq=config.train_freq,
        gradient_steps=config.gradient_steps,
    )
    if config.her:
        off_policy["replay_buffer_class"] = HerReplayBuffer
        off_policy["replay_buffer_kwargs"] = {
            "n_sampled_goal": config.her_n_sampled_goal,
            "goal_selection_strategy": "future",
        }
    if algo == "td3":
        action_dim = env.action_space.shape[0]
        noise = NormalActionNoise(np.zeros(action_dim), np.full(action_dim, config.action_noise_std))
        return TD3(policy, env, action_noise=noise, **off_policy, **common)
    ent_coef = config.sac_ent_coef if config.sac_ent_coef.startswith("auto") else float(config.sac_ent_coef)
    if algo == "sac+demos":
        off_policy["replay_buffer_class"] = DemoReplayBuffer
        model = SACWithDemos(policy, env, ent_coef=ent_coef, **off_policy, **common)
        model.demo_bc_steps = config.demo_bc_steps
        model.actor_warmup_steps = config.actor_warmup_steps
        model.demo_loss = config.demo_loss
        model.demo_bc_alpha = config.demo_bc_alpha
        model.demo_q_filter = config.demo_q_filter
        return model
    return SAC(policy, env, ent_coef=ent_coef, **off_policy, **common)


def set_initial_std(actor: torch.nn.Module, std: float) -> None:
    """A state-independent starting std: the log-std head's weights zeroed, its bias log(std)."""
    with torch.no_grad():
        actor.log_std.weight.zero_()
        actor.log_std.bias.fill_(float(np.log(std)))


def attach_demonstrations(model: SACWithDemos, demos: Demonstrations, config: TrainConfig) -> None:
    space = model.observation_space
    model.replay_buffer.set_demonstrations(
        policy_inputs(demos, space),
        policy_inputs(demos, space, next_obs=True),
        demos.actions,
        demos.rewards,
        demos.terminated,
        config.demo_fraction,
    )
    model.demo_bc_steps = config.demo_bc_steps
    model.actor_warmup_steps = config.actor_warmup_steps
    model.demo_loss = config.demo_loss
    model.demo_bc_alpha = config.demo_bc_alpha
    model.demo_q_filter = config.demo_q_filter


# ---------------------------------------------------------------------------------------------- callbacks
class Progress(BaseCallback):
    """A progress bar over env steps, from where a resumed run left off."""

    def __init__(self, total: int, enabled: bool, label: str) -> None:
        super().__init__()
        self.total, self.enabled, self.label, self.bar = total, enabled, label, None

    def _on_training_start(self) -> None:
        self.bar = tqdm(total=self.total, initial=self.num_timesteps, desc=self.label, unit="step",
                        disable=not self.enabled, dynamic_ncols=True)  # fmt: skip

    def _on_step(self) -> bool:
        self.bar.update(self.num_timesteps - self.bar.n)
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


class Bookkeeping(BaseCallback):
    """Checkpoints (the latest only) every ``checkpoint_every`` and evaluation points every ``eval_every`` steps."""

    def __init__(self, run_dir: Path, env_id: str, config: TrainConfig, wall_before_s: float) -> None:
        super().__init__()
        self.run_dir, self.env_id, self.config = run_dir, env_id, config
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

    def checkpoint(self) -> None:
        folder = self.run_dir / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        steps = self.num_timesteps
        old = [p for p in folder.glob("*") if p.stem.rsplit("_", 1)[-1] != str(steps)]
        self.model.save(folder / f"model_{steps}.zip")
        if hasattr(self.model, "replay_buffer") and self.model.replay_buffer is not None:
            self.model.save_replay_buffer(folder / f"replay_buffer_{steps}.pkl")
        (folder / f"progress_{steps}.json").write_text(json.dumps({"steps": steps, "wall_s": self.wall_s()}))
        for path in old:
            path.unlink(missing_ok=True)


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
        "versions": {**package_versions(), "torch": torch.__version__},
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
    previous = json.loads(record.read_text())
    if (previous["env_id"], previous["algo"]) != (env_id, algo):
        raise RunError(f"cannot resume: {run_dir} is a {previous['algo']} run on {previous['env_id']}")
    if algo == "bc":
        raise RunError("behaviour cloning has no checkpoints to resume; rerun it (it takes seconds to minutes)")
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        raise RunError(f"cannot resume: no checkpoint in {run_dir / 'checkpoints'} (model_<steps>.zip)")
    return checkpoint


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
    task_entry(env_id)
    if config.her and algo not in ("sac", "td3"):
        raise RunError(f"her: true works with sac and td3, not {algo}")
    run_dir = Path(run_dir)
    checkpoint = check_run_dir(run_dir, env_id, algo, resume)
    demos = _load_demos(env_id, config) if algo in ("bc", "sac+demos") else None
    torch.set_num_threads(1)
    run_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if algo == "bc":
        return _train_bc(env_id, config, seed, run_dir, demos, progress, started)

    env = EmbodiaVecEnv(env_id, config.num_envs, seed, **env_kwargs(config))
    wall_before_s = 0.0
    if checkpoint is not None:
        warnings.warn(PICKLE_WARNING.format(path=checkpoint), stacklevel=2)
        model = ALGO_CLASSES[algo].load(checkpoint, env=env, device="cpu")
        buffer_path = checkpoint.with_name(checkpoint.name.replace("model_", "replay_buffer_").replace(".zip", ".pkl"))
        if buffer_path.exists():
            model.load_replay_buffer(buffer_path)
        progress_path = checkpoint.with_name(checkpoint.name.replace("model_", "progress_").replace(".zip", ".json"))
        if progress_path.exists():
            wall_before_s = json.loads(progress_path.read_text())["wall_s"]
        if algo == "sac+demos":
            model.demo_bc_steps = config.demo_bc_steps
            model.actor_warmup_steps = config.actor_warmup_steps
            model.demo_loss = config.demo_loss
            model.demo_bc_alpha = config.demo_bc_alpha
            model.demo_q_filter = config.demo_q_filter
    else:
        stats = demo_stats(demos, config) if demos is not None else _random_stats(env, seed)
        model = build_model(algo, config, env, stats, run_dir, seed)
        if algo == "sac+demos":
            bc_policy, _ = train_bc(demos, env.observation_space, env.action_space, config, seed)
            model.policy.actor.load_state_dict(bc_policy.actor.state_dict())
            if config.demo_policy_std > 0:  # cloning fits only the mean; its std is still the untrained ~1
                set_initial_std(model.policy.actor, config.demo_policy_std)
            attach_demonstrations(model, demos, config)
        record = run_record(env_id, algo, seed, config, _class_path(model.policy))
        (run_dir / "run.json").write_text(json.dumps(record, indent=2))
    book = Bookkeeping(run_dir, env_id, config, wall_before_s)
    target = config.total_steps if stop_after_steps is None else min(stop_after_steps, config.total_steps)
    remaining = max(0, target - model.num_timesteps)
    callbacks = CallbackList([Progress(target, progress, f"{env_id} {algo}"), book])
    model.learn(remaining, callback=callbacks, reset_num_timesteps=checkpoint is None, tb_log_name="run")
    book.checkpoint()
    if model.num_timesteps < config.total_steps:  # interrupted on purpose: no final evaluation
        env.close()
        return {"env_steps": model.num_timesteps, "interrupted": True}
    model.policy.save(run_dir / "policy.zip")
    result = final_evaluation(env_id, SB3Policy(model.policy), config, run_dir, algo, seed, book.wall_s(),
                              model.num_timesteps)  # fmt: skip
    env.close()
    return result


def _class_path(obj: Any) -> str:
    return f"{type(obj).__module__}:{type(obj).__name__}"


def _train_bc(env_id, config, seed, run_dir, demos, progress, started) -> dict[str, Any]:
    probe = BatchedEnv(task_entry(env_id).task, 1, **env_kwargs(config))
    bar = tqdm(total=config.bc_epochs, desc=f"{env_id} bc", unit="epoch", disable=not progress, dynamic_ncols=True)

    def on_epoch(epoch: int, train_loss: float, holdout_loss: float) -> None:
        bar.update(1)
        bar.set_postfix(train=f"{train_loss:.4f}", holdout=f"{holdout_loss:.4f}")

    extractor = EXTRACTORS[config.policy_features]
    space = probe.single_observation_space
    if config.dagger_rounds == 0:
        policy, history = train_bc(demos, space, probe.single_action_space, config, seed, on_epoch, extractor)
        bar.close()
        record = run_record(env_id, "bc", seed, config, _class_path(policy))
        record["bc"] = dataclasses.asdict(history) | {"transitions": len(demos), "episodes": demos.num_episodes}
    else:
        bar.close()
        policy, record = _train_dagger(env_id, config, seed, demos, space, probe.single_action_space, extractor,
                                       progress)  # fmt: skip
    (run_dir / "run.json").write_text(json.dumps(record, indent=2))
    policy.save(run_dir / "policy.zip")
    wall_s = time.perf_counter() - started
    return final_evaluation(env_id, SB3Policy(policy), config, run_dir, "bc", seed, wall_s, 0)


def _train_dagger(env_id, config, seed, demos, space, action_space, extractor, progress) -> tuple[Any, dict]:
    """BC, then ``config.dagger_rounds`` DAgger rounds; keeps the round with the best success on
    ``eval_episodes`` validation episodes (seeded ``VALIDATION_SEED`` + k, disjoint from the final evaluation)."""
    best: dict[str, Any] = {"validation": -1.0}
    rounds: list[dict[str, Any]] = []

    def on_iteration(i: int, policy: Any, history: Any) -> None:
        result = evaluate_success(env_id, SB3Policy(policy), config.eval_episodes, VALIDATION_SEED, 20,
                                  env_kwargs(config))  # fmt: skip
        rounds.append({"round": i, "validation_success": result["success_rate"],
                       "transitions": history.transitions[-1],
                       "rollout_success": history.rollout_success[-1]})  # fmt: skip
        if progress:
            print(f"{env_id} dagger round {i}: validation success {result['success_rate']:.0%}", flush=True)
        if result["success_rate"] > best["validation"]:
            best.update(validation=result["success_rate"], policy=policy, round=i)

    train_dagger(env_id, demos, space, action_space, config, seed, config.dagger_rounds, config.dagger_episodes,
                 on_iteration=on_iteration, extractor_class=extractor)  # fmt: skip
    record = run_record(env_id, "bc", seed, config, _class_path(best["policy"]))
    record["dagger"] = {"rounds": rounds, "selected_round": best["round"], "validation_seed": VALIDATION_SEED}
    return best["policy"], record


def final_evaluation(env_id, policy, config, run_dir, algo, seed, wall_s, env_steps) -> dict[str, Any]:
    result = evaluate_success(env_id, policy, config.final_eval_episodes, config.eval_seed, 20, env_kwargs(config))
    result["eval_seed"] = result.pop("seed")
    result.update(env_id=env_id, algo=algo, seed=seed, env_steps=int(env_steps), train_wall_s=round(wall_s, 1))
    (Path(run_dir) / "eval.json").write_text(json.dumps(result, indent=2))
    return result


def load_run_policy(run_dir: str | Path) -> tuple[dict[str, Any], Any]:
    """The run record and its saved SB3 policy. Warns first: a policy file is a pickle and can run code."""
    run_dir = Path(run_dir)
    record_path, policy_path = run_dir / "run.json", run_dir / "policy.zip"
    if not record_path.is_file():
        raise RunError(f"{run_dir} is not a training run folder (no run.json)")
    if not policy_path.is_file():
        raise RunError(f"{run_dir} holds no trained policy (policy.zip); the run has not finished")
    record = json.loads(record_path.read_text())
    module, _, name = record["policy_class"].partition(":")
    policy_cls = getattr(importlib.import_module(module), name)
    warnings.warn(PICKLE_WARNING.format(path=policy_path), stacklevel=2)
    return record, policy_cls.load(str(policy_path), device="cpu")
