"""PPO's action-bound penalty: keeps the Gaussian policy's mean near the action box, where its noise still explores.

Why: SB3's PPO samples an unbounded Gaussian and clips the action to [-1, 1] for the env. Past the bound every mean
acts the same, so nothing holds the mean there and it drifts. Measured on BinPicking's PPO policy
(``ppo_factory_sde_long_norm``, 5M steps): with the part in its slot, the gripper's mean sat at -2.5 to -4.7 with
a noise std of 0.28; opening the jaws (an action above -0.1 for the 36 mm part) was 8-15 standard deviations away,
so the release that success needs was never sampled. rl_games, the PPO of IsaacGymEnvs' Franka tasks, adds
``bounds_loss_coef * mean((relu(mu - 1.1)^2 + relu(-1.1 - mu)^2).sum(-1))`` to its loss (soft bound 1.1); this
module adds that term's gradient to SB3's PPO without rewriting its update: an identity on the action mean whose
backward pass adds the penalty's gradient, hooked on the policy's ``action_net`` while gradients are on (the
update), never while it acts (rollouts and evaluation run without gradients).
"""

from __future__ import annotations

from typing import Any

import torch

#: rl_games' soft bound: a mean within 10% beyond the action box costs nothing
SOFT_BOUND = 1.1


def _beyond(mean: torch.Tensor) -> torch.Tensor:
    """How far each mean lies past the soft bound, signed (0 inside it)."""
    return torch.clamp(mean - SOFT_BOUND, min=0.0) + torch.clamp(mean + SOFT_BOUND, max=0.0)


class _BoundGradient(torch.autograd.Function):
    """Identity forward; backward adds d/dmu of ``coef * mean_batch(sum_dims(relu(|mu| - SOFT_BOUND)^2))``."""

    @staticmethod
    def forward(ctx: Any, mean: torch.Tensor, coef: float) -> torch.Tensor:
        ctx.save_for_backward(mean)
        ctx.coef = coef
        return mean.view_as(mean)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (mean,) = ctx.saved_tensors
        return grad + ctx.coef * 2.0 * _beyond(mean) / mean.shape[0], None


def bound_penalty(mean: torch.Tensor) -> torch.Tensor:
    """(batch,) the penalty per sample, before its coefficient: what the gradient above differentiates."""
    return (_beyond(mean) ** 2).sum(dim=-1)


def penalise_action_bounds(policy: Any, coef: float) -> torch.utils.hooks.RemovableHandle | None:
    """Hook the penalty on ``policy.action_net`` (an SB3 actor-critic policy's Gaussian mean); ``coef`` 0: none.
    Not saved with the policy: ``train`` hooks it again on a resumed model. The hook's handle (None: no hook)."""
    if coef <= 0:
        return None

    def hook(module: torch.nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        return _BoundGradient.apply(output, coef) if torch.is_grad_enabled() else output

    return policy.action_net.register_forward_hook(hook)
