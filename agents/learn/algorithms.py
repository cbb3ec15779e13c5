"""The training algorithms, in one table: ``train`` dispatches on it, the CLI offers its names (``--algo``).

Each entry says what the algorithm learns from and how ``train`` builds, starts and resumes it: the
stable-baselines3 class (none for behaviour cloning, which is fitted, not stepped, and has no checkpoints), the
constructor keywords a config gives it, the settings a config gives a new or a resumed model, and what a new model
does before it learns. Torch and stable-baselines3 are imported only when a model is built, so the CLI reads the
table without them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embodia.agents.learn.config import TrainConfig


def _no_settings(model: Any, config: TrainConfig) -> None:
    """Nothing beyond the constructor keywords."""


@dataclass(frozen=True)
class Algorithm:
    """One algorithm ``embodia train --algo`` runs."""

    name: str
    summary: str  # what it is, for the CLI's help
    needs_demos: bool = False  # learns from the demonstrations the config names (``demos:``)
    her: bool = False  # works with ``her: true`` (hindsight goals in the replay buffer)
    #: its stable-baselines3 algorithm class, imported when first asked for (torch loads only for training);
    #: None for behaviour cloning
    sb3_class: Callable[[], type] | None = None
    #: constructor keywords from the config and the env, besides the policy and the common ones
    options: Callable[[TrainConfig, Any], dict[str, Any]] | None = None
    #: settings from the config outside the constructor, on a new model and on one resumed from a checkpoint
    settings: Callable[[Any, TrainConfig], None] = _no_settings
    #: what a new model does before it learns: (model, demonstrations, env, config, seed)
    start: Callable[[Any, Any, Any, TrainConfig, int], None] | None = None
    #: policy keywords from the config, besides the feature extractor and ``net_arch``
    policy_options: Callable[[TrainConfig], dict[str, Any]] | None = None
    #: a SAC variant: its critics can be the LayerNorm ensemble (``critic_layer_norm``)
    soft_actor_critic: bool = False

    @property
    def learns_demo_rewards(self) -> bool:
        """Whether it learns from the demonstrations' recorded rewards beside the env's (behaviour cloning does not)."""
        return self.needs_demos and self.sb3_class is not None

    @property
    def checkpoints(self) -> bool:
        """Stepped by stable-baselines3: checkpoints every ``checkpoint_every`` steps and resumes from them."""
        return self.sb3_class is not None

    def model_class(self) -> type:
        return self.sb3_class()


def _stable_baselines(name: str) -> Callable[[], type]:
    def load() -> type:
        import stable_baselines3

        return getattr(stable_baselines3, name)

    return load


def _sac_with_demos() -> type:
    from embodia.agents.learn.demo_sac import SACWithDemos

    return SACWithDemos


class LinearToZero:
    """An SB3 learning-rate schedule: ``start`` at the first step, zero at the last (SB3 passes the share of
    training left, 1 to 0; a resumed run continues the same line). A class, not a lambda, so a saved model
    names it plainly."""

    def __init__(self, start: float) -> None:
        self.start = start

    def __call__(self, progress_remaining: float) -> float:
        return self.start * progress_remaining


def learning_rate(config: TrainConfig) -> float | LinearToZero:
    """What SB3 is given as ``learning_rate``: the rate, or its schedule (``lr_schedule``)."""
    return LinearToZero(config.learning_rate) if config.lr_schedule == "linear" else config.learning_rate


def _ppo_options(config: TrainConfig, env: Any) -> dict[str, Any]:
    return dict(n_steps=config.n_steps, batch_size=config.batch_size, n_epochs=config.n_epochs,
                ent_coef=config.ent_coef, gae_lambda=config.gae_lambda, clip_range=config.clip_range,
                target_kl=config.target_kl or None, use_sde=config.use_sde,
                sde_sample_freq=config.sde_sample_freq)  # fmt: skip


def _ppo_settings(model: Any, config: TrainConfig) -> None:
    from embodia.agents.learn.action_bounds import penalise_action_bounds

    penalise_action_bounds(model.policy, config.action_bound_penalty)


def _ppo_policy_options(config: TrainConfig) -> dict[str, Any]:
    return {"log_std_init": config.log_std_init}


def _off_policy_options(config: TrainConfig) -> dict[str, Any]:
    options: dict[str, Any] = dict(
        buffer_size=min(config.buffer_size, config.total_steps + config.num_envs),
        learning_starts=config.learning_starts,
        batch_size=config.batch_size,
        tau=config.tau,
        train_freq=config.train_freq,
        gradient_steps=config.gradient_steps,
    )
    if config.her:
        from stable_baselines3 import HerReplayBuffer

        options["replay_buffer_class"] = HerReplayBuffer
        options["replay_buffer_kwargs"] = {"n_sampled_goal": config.her_n_sampled_goal,
                                           "goal_selection_strategy": "future"}  # fmt: skip
    return options


def _td3_options(config: TrainConfig, env: Any) -> dict[str, Any]:
    import numpy as np
    from stable_baselines3.common.noise import NormalActionNoise

    action_dim = env.action_space.shape[0]
    noise = NormalActionNoise(np.zeros(action_dim), np.full(action_dim, config.action_noise_std))
    return {"action_noise": noise, **_off_policy_options(config)}


def _sac_options(config: TrainConfig, env: Any) -> dict[str, Any]:
    ent_coef = config.sac_ent_coef if config.sac_ent_coef.startswith("auto") else float(config.sac_ent_coef)
    return {"ent_coef": ent_coef, **_off_policy_options(config)}


def _sac_demos_options(config: TrainConfig, env: Any) -> dict[str, Any]:
    from embodia.agents.learn.demo_sac import demo_buffer_class

    return {**_sac_options(config, env), "replay_buffer_class": demo_buffer_class(env.observation_space)}


def _rlpd() -> type:
    from embodia.agents.learn.rlpd import RLPD

    return RLPD


def _rlpd_options(config: TrainConfig, env: Any) -> dict[str, Any]:
    from embodia.agents.learn.rlpd import rlpd_options

    return {**_sac_options(config, env), **rlpd_options(config, env)}


def _rlpd_policy_options(config: TrainConfig) -> dict[str, Any]:
    return {"n_critics": config.rlpd_critics, "residual_scale": config.rlpd_residual_scale,
            "clone_proposals": config.rlpd_clone_proposals}  # fmt: skip


def _start_rlpd(model: Any, demos: Any, env: Any, config: TrainConfig, seed: int) -> None:
    from embodia.agents.learn.rlpd import start_rlpd

    start_rlpd(model, demos, env, config, seed)


def _demo_settings(model: Any, config: TrainConfig) -> None:
    model.use_demo_settings(config)


def _start_from_demos(model: Any, demos: Any, env: Any, config: TrainConfig, seed: int) -> None:
    model.start_from_demonstrations(demos, env, config, seed)


ALGORITHMS: dict[str, Algorithm] = {
    algorithm.name: algorithm
    for algorithm in (
        Algorithm(
            "bc", "behaviour cloning of the demonstrations (with DAgger rounds: dagger_rounds)", needs_demos=True
        ),
        Algorithm(
            "ppo",
            "PPO from scratch",
            sb3_class=_stable_baselines("PPO"),
            options=_ppo_options,
            settings=_ppo_settings,
            policy_options=_ppo_policy_options,
        ),
        Algorithm(
            "sac",
            "SAC from scratch",
            her=True,
            sb3_class=_stable_baselines("SAC"),
            options=_sac_options,
            soft_actor_critic=True,
        ),
        Algorithm("td3", "TD3 from scratch", her=True, sb3_class=_stable_baselines("TD3"), options=_td3_options),
        Algorithm(
            "sac+demos",
            "SAC started from the cloned policy, demonstrations in every batch",
            needs_demos=True,
            sb3_class=_sac_with_demos,
            options=_sac_demos_options,
            settings=_demo_settings,
            start=_start_from_demos,
            soft_actor_critic=True,
        ),
        Algorithm(
            "rlpd",
            "RLPD (Ball et al. 2023): SAC with symmetric demo/online batches, LayerNorm critic ensemble, high UTD",
            needs_demos=True,
            sb3_class=_rlpd,
            options=_rlpd_options,
            settings=_demo_settings,
            start=_start_rlpd,
            policy_options=_rlpd_policy_options,
            soft_actor_critic=True,
        ),
    )
}
ALGOS = tuple(ALGORITHMS)
