"""Training configuration: one frozen dataclass, read from YAML with every key and type checked before training.

A config file holds the hyperparameters and the budget of one (task, algorithm) pair; keys an algorithm does
not use are allowed (one schema for all) but unknown keys and wrong types are errors naming the key.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embodia.agents.learn.algorithms import ALGOS as ALGOS  # the algorithm names, re-exported

OBS_MODES = ("flat", "dict", "goal", "pixels")
#: which state entries a policy sees: all of them, or only the robot's own (``robot_*``: proprioception)
POLICY_STATES = ("all", "robot")
MAX_IMAGE_GRID = 8  # image_grid's largest side: 8 x 8 cells of 8 channels is 512 features a camera
DEMO_LOSSES = ("aux", "qfilter")
RLPD_STARTS = ("clone", "scratch")
RLPD_ACTOR_LOSSES = ("sac", "awac")
BC_LR_SCHEDULES = ("constant", "cosine")
LR_SCHEDULES = ("constant", "linear")
POLICY_FEATURES = ("", "yaw", "fine", "yaw+fine")  # agents/learn/features.py EXTRACTORS


class ConfigError(ValueError):
    """A config file that cannot be used: unknown key, wrong type, bad value."""


#: the largest |bc_ensemble_decay| * (bc_chunk - 1): the ensemble's weights are exp of it, and float64 overflows
#: beyond about 709
MAX_ENSEMBLE_EXPONENT = 700.0


def ensemble_decay_problem(decay: float, chunk: int) -> str | None:
    """Why a chunk ensemble cannot weigh its chunks by ``decay``, or None when it can (the config, the policy and
    a loaded run's record check it alike)."""
    if abs(decay) * (chunk - 1) <= MAX_ENSEMBLE_EXPONENT:  # False for nan
        return None
    return (
        f"bc_ensemble_decay={decay!r} with bc_chunk={chunk} is not valid: the weights are exp(decay * steps), "
        f"up to exp({abs(decay) * (chunk - 1):g}); valid: a finite decay with |decay| * (bc_chunk - 1) <= "
        f"{MAX_ENSEMBLE_EXPONENT:g} (ACT's: 0.01)"
    )


@dataclass(frozen=True)
class TrainConfig:
    # budget and env
    total_steps: int = 100_000  # environment steps (summed over simulations)
    num_envs: int = 16
    #: flat | dict | goal (goal: HER-ready Dict with achieved/desired goal) | pixels (bc: the Dict with the images
    #: of env_kwargs' cameras, rendered from the demonstrations' recorded states; agents/learn/vision.py)
    obs_mode: str = "flat"
    #: "all" state entries, or only the "robot"'s own (bc): with pixels, a policy that knows the task only from
    #: what its cameras see, as a real robot does
    policy_state: str = "all"
    #: pixels: beside each camera's keypoints, its last feature maps pooled to image_grid x image_grid cells
    #: (agents/learn/vision.py): keypoints say where things are, little of how they are turned; 0: keypoints only
    image_grid: int = 0
    env_kwargs: dict = field(default_factory=dict)  # task config fields and env options
    # networks and optimisation
    net_arch: list = field(default_factory=lambda: [256, 256])
    learning_rate: float = 3e-4
    #: RL (PPO, SAC, TD3, RLPD): "constant", or "linear": annealed from learning_rate to zero over total_steps, as
    #: PPO's reference implementations anneal it (Huang et al., "The 37 implementation details of PPO", ICLR blog
    #: track 2022): the last updates move the policy little, so the final weights are not those of one noisy update
    lr_schedule: str = "constant"
    batch_size: int = 256
    gamma: float = 0.99
    # off-policy (SAC, TD3)
    buffer_size: int = 200_000
    learning_starts: int = 1_000
    train_freq: int = 1  # vector steps between updates
    gradient_steps: int = 4  # gradient steps per update
    tau: float = 0.005
    action_noise_std: float = 0.1  # TD3 Gaussian exploration noise
    #: sac, sac+demos: LayerNorm critics (rlpd's, agents/learn/rlpd.py): bounded estimates where the data is thin,
    #: against the overestimation a rare large reward (a success's finishing payment) spreads; rlpd always has them
    critic_layer_norm: bool = False
    sac_ent_coef: str = "auto"  # SAC entropy coefficient: "auto", "auto_<initial value>" or a fixed number
    her: bool = False
    her_n_sampled_goal: int = 4
    # on-policy (PPO)
    n_steps: int = 64  # vector steps per rollout
    n_epochs: int = 10
    ent_coef: float = 0.0
    gae_lambda: float = 0.95  # PPO's generalised advantage estimation (Schulman et al., ICLR 2016)
    clip_range: float = 0.2
    #: PPO's exploration noise drawn as a function of the policy's features (generalized state-dependent
    #: exploration, gSDE: Raffin et al., CoRL 2021), its weights redrawn every ``sde_sample_freq`` steps (-1: once
    #: per rollout). Noise drawn anew each step cannot close the jaws: the gripper's set point moves 5 mm a step,
    #: so a grasp takes a dozen steps of one sign; gSDE's noise is the same wherever the state is the same.
    use_sde: bool = False
    sde_sample_freq: int = -1
    log_std_init: float = 0.0  # PPO's initial log std (of the noise weights with use_sde)
    #: PPO: rl_games' penalty on the Gaussian mean beyond a soft bound of 1.1 (``agents/learn/action_bounds.py``),
    #: its coefficient; 0: none. Past the action box every mean acts the same, so the mean drifts where the noise
    #: no longer explores (BinPicking's gripper mean at -2.5 to -4.7, std 0.28, with the part in its slot)
    action_bound_penalty: float = 0.0
    #: RL from scratch (PPO, SAC, TD3): the observation normalisation follows what the rollouts see (each
    #: rollout's observations merged into the stats before the next is collected, as VecNormalize does in the RL
    #: Baselines3 Zoo's PPO settings), instead of staying at a random-action rollout's, where a part never moves
    running_normalization: bool = False
    #: every learner: rewards divided by the task's full dense rate (the sum of its positive reward weights, the
    #: most a step can earn), so that a step earns at most 1 and the success step the steps left, on every task
    #: (ManiSkill's "normalized_dense" reward does the same); logged returns stay the task's own
    normalize_reward: bool = False
    target_kl: float = 0.0  # stop an update's epochs once the policy moved this far (KL); 0: never
    # demonstrations (BC, SAC+demos)
    demos: str = ""  # an embodia run folder or a Minari dataset id
    demo_episodes: int = 100
    #: how experiments/learning_suite.py records a method's demonstrations when they are missing: DART noise on the
    #: arm's actions and the chance per step of a held push (agents/learn/collect.py); the folder's name says both
    demo_noise: float = 0.1
    demo_pushes: float = 0.0
    bc_epochs: int = 300
    bc_batch_size: int = 256
    bc_learning_rate: float = 1e-3
    bc_holdout_fraction: float = 0.1
    bc_patience: int = 30  # epochs without a better held-out loss before stopping
    bc_early_stopping: bool = True  # False: train all bc_epochs and keep the last weights (held-out loss only logged)
    bc_obs_noise: float = 0.0  # Gaussian input noise while cloning, in standard deviations of each input
    ignore_obs: list = field(default_factory=list)  # observation entries the policy does not see (flat/dict modes)
    policy_features: str = ""  # every learner: "" (the observation) or with features: yaw, fine, yaw+fine (features.py)
    #: bc: actions predicted per step (1: one). k > 1: the policy predicts the next k actions and executes the
    #: temporal ensemble of every chunk that covers this step (action chunking, Zhao et al., RSS 2023, "ACT"):
    #: a clone no longer stalls where the expert's next move depends on time it cannot see
    bc_chunk: int = 1
    #: bc_chunk > 1: how the ensemble weighs the chunks covering a step: a chunk predicted i steps before the
    #: newest weighs exp(-decay * (k - 1 - i)). ACT's m is 0.01 (the chunks nearly equal, the oldest a little
    #: more); a negative decay favours the newest (-1: each step older weighs e times less), so the clone answers
    #: what it sees now. BinPicking's visual clone on 100 validation episodes: 32% at 0.01, 73% at -1
    bc_ensemble_decay: float = 0.01
    #: bc with pixels and policy_state robot: weight of an auxiliary loss in which a linear head predicts the
    #: task's state (its task_* entries, standardised) from the image features, in training only: it teaches the
    #: encoder where the objects are (privileged supervision, as in asymmetric actor-critic, Pinto et al. 2018);
    #: the saved policy never sees that state
    bc_aux_state: float = 0.0
    #: bc_aux_state's targets also hold these features of the hidden state, as policy_features names them (yaw,
    #: fine, yaw+fine: features.py): standardised entries resolve a grasp offset of millimetres no better than
    #: the state policy's input did, so the encoder is not pushed to find the object to the millimetre
    bc_aux_features: str = ""
    #: bc with pixels and policy_state robot: weight of an auxiliary loss in which a linear head predicts, from the
    #: features the actor acts on, the jaw's yaw against each object's (sin/cos of multiples 1, 2 and 4, folded as
    #: the state recipe folds it: features.turn_targets), each frame weighted by exp(-object's distance from the
    #: TCP / bc_aux_turn_scale_m): the turn before a grasp, asked for where the wrist camera sees the part
    bc_aux_turn: float = 0.0
    bc_aux_turn_scale_m: float = 0.05
    #: bc: > 0 keeps an exponential moving average of the weights with this decay per gradient step and saves it
    #: instead of the last weights (Polyak averaging; diffusion and action-chunking policies train this way, Chi et
    #: al., RSS 2023): the last step's weights depend on the last few batches, their average much less
    bc_ema_decay: float = 0.0
    #: bc: "constant" learning rate, or "cosine": decayed to zero over bc_epochs (Loshchilov and Hutter, ICLR 2017)
    bc_lr_schedule: str = "constant"
    #: bc: > 0 trains with AdamW's decoupled weight decay (each step shrinks a weight by learning rate x this), on
    #: weight matrices and kernels only (not biases or normalisation gains; Loshchilov and Hutter, ICLR 2019; ACT
    #: trains with 1e-4): a visual clone of 200 demonstrations overfits, its held-out action error rising after
    #: 6-9 epochs of 40
    bc_weight_decay: float = 0.0
    dagger_rounds: int = 0  # bc: DAgger rounds after the first fit (0: plain BC); the best on validation is kept
    dagger_episodes: int = 32  # bc: expert-labelled rollouts of the learner per DAgger round
    demo_fraction: float = 0.25  # share of every SAC batch drawn from the demonstrations
    demo_bc_steps: float = 1.0  # behaviour-cloning steps on demonstrations per SAC gradient step (0: none)
    actor_warmup_steps: int = 0  # sac+demos: first gradient steps train only the critic (the actor stays cloned)
    demo_loss: str = "aux"  # sac+demos: "aux" (separate BC steps) or "qfilter" (TD3+BC actor loss with Q-filter)
    demo_bc_alpha: float = 2.5  # sac+demos qfilter: weight of the normalised Q term against the BC term
    demo_q_filter: bool = True  # sac+demos qfilter: BC only where Q(s, a_demo) >= Q(s, pi(s)); False: always
    demo_policy_std: float = 0.0  # sac+demos, rlpd: the cloned actor's initial action std before squashing (0: SB3's)
    # RLPD (agents/learn/rlpd.py); demo_fraction is its symmetric sampling (0.5), actor_warmup_steps applies too
    rlpd_start: str = "clone"  # "clone": the actor starts as the clone of the demonstrations; "scratch": untrained
    utd_ratio: int = 1  # critic updates per environment step (the actor updates once per step); gradient_steps unused
    rlpd_critics: int = 2  # critics in the LayerNorm ensemble
    rlpd_target_subset: int = 2  # ensemble members whose minimum makes the target (random per update)
    rlpd_backup_entropy: bool = True  # the entropy term in the critic's target
    #: > 0 (with rlpd_start: clone): the clone stays frozen as a base and the actor learns a correction of at most
    #: this much per action dimension (bounded residual RL); 0: the actor acts alone
    rlpd_residual_scale: float = 0.0
    #: rlpd: the actor's learning rate (0: learning_rate). Adam moves every weight by about the learning rate per
    #: step whatever the gradient's size, so a clone fine-tuned on a young critic's noisy gradient drifts at full
    #: speed; a smaller rate lets the critic become right before the actor has moved far
    actor_learning_rate: float = 0.0
    #: rlpd: "sac" (the actor follows the critic's action gradient, the paper's) or "awac" (the likelihood of the
    #: batch's actions weighted by exp(awac_beta * advantage / its batch scale): only towards actions taken)
    rlpd_actor_loss: str = "sac"
    awac_beta: float = 1.0
    #: rlpd with rlpd_start: clone: the clone stays frozen beside the actor, and both acting and the critic's target
    #: take the actor's proposal only where every critic values it above what any critic says of the clone's
    #: (IBRL's proposals, Hu et al., RSS 2024, with a pessimistic choice), else the clone's
    rlpd_clone_proposals: bool = False
    # bookkeeping
    checkpoint_every: int = 10_000
    eval_every: int = 10_000
    eval_episodes: int = 20
    final_eval_episodes: int = 100
    eval_seed: int = 1_000_000  # evaluation episodes are seeded from here, disjoint from demonstrations

    def __post_init__(self) -> None:
        if self.obs_mode not in OBS_MODES:
            raise ConfigError(f"obs_mode={self.obs_mode!r} is not valid; valid: {', '.join(OBS_MODES)}")
        positive = ("total_steps", "num_envs", "batch_size", "buffer_size", "train_freq", "gradient_steps")
        positive += ("n_steps", "n_epochs", "demo_episodes", "bc_epochs", "bc_batch_size", "bc_patience", "bc_chunk")
        positive += ("dagger_episodes", "checkpoint_every", "eval_every", "eval_episodes", "final_eval_episodes")
        positive += ("utd_ratio", "rlpd_target_subset")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be a positive integer")
        if not 0.0 <= self.demo_noise < float("inf"):
            raise ConfigError(f"demo_noise={self.demo_noise!r} must be 0 (the expert's own actions) or a positive std")
        if not 0.0 <= self.demo_pushes <= 1.0:
            raise ConfigError(f"demo_pushes={self.demo_pushes!r} must be a probability per step, in [0, 1]")
        for name in ("demo_fraction", "bc_holdout_fraction"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"{name}={getattr(self, name)!r} must be in [0, 1)")
        if self.sde_sample_freq < 1 and self.sde_sample_freq != -1:
            raise ConfigError(f"sde_sample_freq={self.sde_sample_freq!r} must be -1 (once per rollout) or positive")
        if not 0.0 <= self.action_bound_penalty < float("inf"):
            raise ConfigError(
                f"action_bound_penalty={self.action_bound_penalty!r} must be 0 (none) or a positive coefficient"
            )
        if not -20.0 <= self.log_std_init <= 2.0:
            raise ConfigError(f"log_std_init={self.log_std_init!r} must be in [-20, 2] (a std of 2e-9 to 7.4)")
        if not (self.net_arch and all(isinstance(v, int) and v > 0 for v in self.net_arch)):
            raise ConfigError(f"net_arch={self.net_arch!r} must be a non-empty list of positive integers")
        if self.ignore_obs and self.obs_mode == "goal":
            raise ConfigError("ignore_obs works with obs_mode flat or dict, not goal")
        if self.policy_state not in POLICY_STATES:
            raise ConfigError(f"policy_state={self.policy_state!r} is not valid; valid: {', '.join(POLICY_STATES)}")
        if self.policy_state != "all" and self.obs_mode not in ("dict", "pixels"):
            raise ConfigError(
                f"policy_state={self.policy_state!r} chooses Dict entries: it needs obs_mode dict or pixels"
            )
        self._check_pixels()
        self._check_ppo()
        self._check_bc_optimisation()
        self._check_bc_auxiliary()
        if self.demo_policy_std < 0:
            raise ConfigError(f"demo_policy_std={self.demo_policy_std!r} must be 0 (keep) or a positive std")
        if self.rlpd_start not in RLPD_STARTS:
            raise ConfigError(f"rlpd_start={self.rlpd_start!r} is not valid; valid: {', '.join(RLPD_STARTS)}")
        if self.rlpd_actor_loss not in RLPD_ACTOR_LOSSES:
            raise ConfigError(
                f"rlpd_actor_loss={self.rlpd_actor_loss!r} is not valid; valid: {', '.join(RLPD_ACTOR_LOSSES)}"
            )
        if self.awac_beta <= 0:
            raise ConfigError(f"awac_beta={self.awac_beta!r} must be positive")
        if self.actor_learning_rate < 0:
            raise ConfigError(f"actor_learning_rate={self.actor_learning_rate!r} must be 0 (learning_rate) or positive")
        if not 0.0 <= self.rlpd_residual_scale <= 2.0:
            raise ConfigError(f"rlpd_residual_scale={self.rlpd_residual_scale!r} must be in [0, 2] (0: no residual)")
        if self.rlpd_residual_scale > 0 and self.rlpd_start != "clone":
            raise ConfigError("rlpd_residual_scale > 0 corrects the clone: it needs rlpd_start: clone")
        if self.rlpd_clone_proposals and self.rlpd_start != "clone":
            raise ConfigError("rlpd_clone_proposals: true proposes the clone's actions: it needs rlpd_start: clone")
        if self.rlpd_clone_proposals and self.rlpd_residual_scale > 0:
            raise ConfigError("rlpd_clone_proposals and rlpd_residual_scale are two ways to use the clone; set one")
        if self.rlpd_critics < 2:
            raise ConfigError(f"rlpd_critics={self.rlpd_critics!r} must be at least 2 (the target takes a minimum)")
        if self.rlpd_target_subset > self.rlpd_critics:
            raise ConfigError(f"rlpd_target_subset={self.rlpd_target_subset!r} must be at most rlpd_critics="
                              f"{self.rlpd_critics}")  # fmt: skip
        if self.demo_loss not in DEMO_LOSSES:
            raise ConfigError(f"demo_loss={self.demo_loss!r} is not valid; valid: {', '.join(DEMO_LOSSES)}")
        if self.bc_chunk > 1 and self.dagger_rounds:
            raise ConfigError(f"bc_chunk={self.bc_chunk!r} works with plain BC; set dagger_rounds: 0 or bc_chunk: 1")
        if self.dagger_rounds < 0:
            raise ConfigError(f"dagger_rounds={self.dagger_rounds!r} must be 0 (plain BC) or a positive integer")
        if self.policy_features not in POLICY_FEATURES:
            raise ConfigError(f"policy_features={self.policy_features!r} is not valid; valid: {POLICY_FEATURES}")
        if self.actor_warmup_steps < 0:
            raise ConfigError(f"actor_warmup_steps={self.actor_warmup_steps!r} must be 0 or a positive integer")
        ent = self.sac_ent_coef.removeprefix("auto").removeprefix("_")
        if ent and not _is_positive_number(ent):
            raise ConfigError(f"sac_ent_coef={self.sac_ent_coef!r} is not valid; valid: auto, auto_0.1, 0.05, ...")
        if self.her and self.obs_mode != "goal":
            raise ConfigError("her: true needs obs_mode: goal (achieved and desired goals in the observation)")

    def _check_pixels(self) -> None:
        if self.obs_mode == "pixels" and self.policy_features:
            raise ConfigError(
                f"policy_features={self.policy_features!r} derives features from the task's state entries; a pixels "
                "policy encodes its images (agents/learn/vision.py); set policy_features: ''"
            )
        if not (isinstance(self.image_grid, int) and 0 <= self.image_grid <= MAX_IMAGE_GRID):
            raise ConfigError(
                f"image_grid={self.image_grid!r} is not valid; valid: 0 (keypoints only) to {MAX_IMAGE_GRID} "
                "cells a side"
            )
        if self.image_grid and self.obs_mode != "pixels":
            raise ConfigError(f"image_grid={self.image_grid!r} pools camera images: it needs obs_mode pixels")

    def _check_bc_optimisation(self) -> None:
        problem = ensemble_decay_problem(self.bc_ensemble_decay, self.bc_chunk)
        if problem:
            raise ConfigError(problem)
        if not (0.0 <= self.bc_weight_decay < 1.0):  # also refuses nan
            raise ConfigError(f"bc_weight_decay={self.bc_weight_decay!r} must be in [0, 1) (0: plain Adam)")
        if not 0.0 <= self.bc_ema_decay < 1.0:
            raise ConfigError(f"bc_ema_decay={self.bc_ema_decay!r} must be in [0, 1) (0: no averaging)")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"lr_schedule={self.lr_schedule!r} is not valid; valid: {', '.join(LR_SCHEDULES)}")
        if self.bc_lr_schedule not in BC_LR_SCHEDULES:
            raise ConfigError(
                f"bc_lr_schedule={self.bc_lr_schedule!r} is not valid; valid: {', '.join(BC_LR_SCHEDULES)}"
            )

    def _check_bc_auxiliary(self) -> None:
        predicts = {"bc_aux_state": "the task's state", "bc_aux_turn": "the jaw's yaw against the objects'"}
        for name, what in predicts.items():
            weight = getattr(self, name)
            if weight < 0:
                raise ConfigError(f"{name}={weight!r} must be >= 0 (0: no auxiliary loss)")
            if weight > 0 and (self.obs_mode != "pixels" or self.policy_state != "robot"):
                raise ConfigError(
                    f"{name}={weight!r} predicts {what} from images the policy sees instead of that state: it "
                    "needs obs_mode pixels and policy_state robot"
                )
        if not self.bc_aux_turn_scale_m > 0:
            raise ConfigError(f"bc_aux_turn_scale_m={self.bc_aux_turn_scale_m!r} must be > 0 (metres)")
        if self.bc_aux_features not in POLICY_FEATURES:
            raise ConfigError(f"bc_aux_features={self.bc_aux_features!r} is not valid; valid: {POLICY_FEATURES}")
        if self.bc_aux_features and self.bc_aux_state <= 0:
            raise ConfigError(
                f"bc_aux_features={self.bc_aux_features!r} adds targets to bc_aux_state's loss: set bc_aux_state > 0"
            )

    def _check_ppo(self) -> None:
        if not 0.0 <= self.gae_lambda <= 1.0:
            raise ConfigError(f"gae_lambda={self.gae_lambda!r} must be in [0, 1]")
        if not 0.0 < self.clip_range <= 1.0:
            raise ConfigError(f"clip_range={self.clip_range!r} must be in (0, 1]")
        if self.target_kl < 0:
            raise ConfigError(f"target_kl={self.target_kl!r} must be >= 0 (0: no early stop)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _is_positive_number(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def _type_ok(value: Any, expected: Any) -> bool:
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(expected, types.UnionType) or typing.get_origin(expected) is typing.Union:
        return any(_type_ok(value, option) for option in typing.get_args(expected))
    return isinstance(value, expected)


def config_from_dict(values: dict[str, Any], source: str = "config") -> TrainConfig:
    """A ``TrainConfig`` from a mapping; unknown keys and wrong types raise ``ConfigError`` naming them."""
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: expected a mapping of option: value, got {type(values).__name__}")
    hints = typing.get_type_hints(TrainConfig)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(hints))}")
    for key, value in values.items():
        if not _type_ok(value, hints[key]):
            expected = getattr(hints[key], "__name__", str(hints[key]))
            raise ConfigError(f"{source}: {key}={value!r} has type {type(value).__name__}, expected {expected}")
    values = {k: float(v) if hints[k] is float else v for k, v in values.items()}
    try:
        return TrainConfig(**values)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config (None: defaults) and apply ``overrides``; every error names the file and key."""
    import yaml

    values: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            loaded = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
        values = loaded if loaded is not None else {}
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: expected a mapping of option: value, got {type(values).__name__}")
    return config_from_dict({**values, **(overrides or {})}, source)
