"""Does a task's dense reward pay for finishing? The scripted expert's return against its own path held still.

An agent that learns a reward finds whatever earns most. If stalling just short of success earns more than
succeeding (a positive dense reward every step, with the episode ending on success), it learns to stall. The audit
runs the expert once and, in the same batch, copies of its episode that follow it step for step up to a hold point
and then hold still until the truncation: the arm commanded to stay where it is (a zero action of the delta
controllers) and the gripper kept at the expert's last command, so a grasped part stays grasped. Same seed, same
actions: each copy is the expert's own episode up to its hold point, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embodia.agents.experts import make_expert
from embodia.envs.core.batched_env import make_batched


@dataclass(frozen=True)
class HeldPathReturns:
    """One audited episode: the expert's return and that of its path held still from each hold step."""

    env_id: str
    seed: int
    success_step: int | None  # the control step (1-based) the expert succeeded at, None if it did not
    expert_return: float
    hold_steps: tuple[int, ...]  # the expert acted for this many steps, then held still
    held_returns: tuple[float, ...]
    held_succeeded: tuple[bool, ...]  # a held path can still succeed (a part settling into its slot)
    #: the best return of stopping after any step before success, estimated as if each reward stayed at its value
    #: (the expert's rewards up to step t, then step t's reward to the truncation): every step, at no extra cost
    any_step_estimate: float

    @property
    def best_stall_return(self) -> float:
        """The most a held path earned without succeeding (0 if every one of them still succeeded)."""
        stalls = [r for r, ok in zip(self.held_returns, self.held_succeeded, strict=True) if not ok]
        return max(stalls, default=0.0)

    @property
    def margin(self) -> float:
        """Expert return over the best stall's: above 1 when finishing pays most."""
        return self.expert_return / self.best_stall_return if self.best_stall_return > 0 else float("inf")


def held_path_returns(env_id: str, seed: int, hold_points: int = 8, **config) -> HeldPathReturns:
    """Run the expert on ``seed`` and ``hold_points`` copies of it held still from evenly spaced steps before its
    success (the last one the step before); ``config`` overrides the task's settings (e.g. ``reward_mode``).

    The experts act through the default end-effector delta controller, whose zero action holds the arm still.
    Raises ValueError for an expert that does not succeed on ``seed`` (there is no finish to compare with).
    """
    if hold_points < 1:
        raise ValueError(f"hold_points={hold_points!r}; valid: an integer >= 1")
    success_step = expert_reward_path(env_id, seed, **config).success_step
    if success_step is None:
        raise ValueError(f"the {env_id} expert does not succeed on seed {seed}: no finish to compare the stalls with")
    holds = np.unique(np.linspace(0, success_step - 1, hold_points + 1)[1:].astype(int))
    n = 1 + len(holds)
    env = make_batched(env_id, n, **config)
    expert = make_expert(env_id, n)
    obs, info = env.reset(seeds=[seed] * n)
    expert.reset(np.arange(n))
    returns, done, succeeded = np.zeros(n), np.zeros(n, bool), np.zeros(n, bool)
    expert_rewards = []
    held_grip = np.zeros(n)
    last_action = np.zeros((n, env.single_action_space.shape[0]))
    for step in range(env.config.episode_steps):
        action = np.asarray(expert.act(obs, info), dtype=np.float64).copy()
        holding = np.zeros(n, bool)
        holding[1:] = step >= holds
        starting = np.zeros(n, bool)
        starting[1:] = step == holds
        held_grip[starting] = last_action[starting, -1]
        action[holding, :-1] = 0.0
        action[holding, -1] = held_grip[holding]
        last_action = action
        obs, reward, terminated, truncated, info = env.step(action)
        returns += np.where(done, 0.0, reward)
        if not done[0]:
            expert_rewards.append(float(reward[0]))
        succeeded |= ~done & info["success"]
        done |= terminated | truncated
        if done.all():
            break
    episode_steps = env.config.episode_steps
    env.close()
    before = np.asarray(expert_rewards[: success_step - 1])  # the steps before the success step
    earned = np.cumsum(before)
    any_step = earned - before + before * (episode_steps - np.arange(len(before)))
    return HeldPathReturns(
        env_id=env_id,
        seed=seed,
        success_step=success_step,
        expert_return=float(returns[0]),
        hold_steps=tuple(int(h) for h in holds),
        held_returns=tuple(float(r) for r in returns[1:]),
        held_succeeded=tuple(bool(s) for s in succeeded[1:]),
        any_step_estimate=float(any_step.max(initial=0.0)),
    )


#: the first second of an episode is left out of the drawdown: a scene settles in it (BlanketCover's cloth drapes and
#: its covered share falls from 0.5 to 0.3 before the arm has moved)
SETTLE_STEPS = 20


@dataclass(frozen=True)
class ExpertRewardPath:
    """The expert's dense reward before its success step, each step's weighted sum of the positive terms as a share of
    the full rate (the most a step can pay)."""

    env_id: str
    seed: int
    shares: tuple[float, ...]
    success_step: int | None  # the control step (1-based) the expert succeeded at, None if it did not

    @property
    def drawdown(self) -> float:
        """The largest fall below the best share reached so far, after the first ``SETTLE_STEPS`` steps: how much a
        stage of the expert's own path pays less than the one before it. A learner told less for going on stops."""
        shares = np.asarray(self.shares[SETTLE_STEPS:])
        if shares.size == 0:
            return 0.0
        return float(np.max(np.maximum.accumulate(shares) - shares))


def expert_reward_path(env_id: str, seed: int, **config) -> ExpertRewardPath:
    """Run the expert on ``seed`` and record its dense reward share at every step before success (penalty terms,
    with negative weights, left out: the safety term measures the person, not the task's progress)."""
    env = make_batched(env_id, 1, **config)
    expert = make_expert(env_id, 1)
    weights = {name: w for name, w in env.reward_weights.items() if w > 0}
    full_rate = env.config.full_dense_rate()
    obs, info = env.reset(seeds=[seed])
    expert.reset(np.arange(1))
    shares, success_step = [], None
    try:
        for step in range(1, env.config.episode_steps + 1):
            obs, _, terminated, truncated, info = env.step(expert.act(obs, info))
            if info["success"][0]:
                success_step = step
            if success_step or terminated[0] or truncated[0]:
                break
            terms = info["reward_terms"]
            shares.append(sum(w * float(terms[name][0]) for name, w in weights.items()) / full_rate)
    finally:
        env.close()
    return ExpertRewardPath(env_id, seed, tuple(shares), success_step)
